/**
 * The config file format (raysl.config.json / .yaml): named profiles of job settings, validated with
 * zod, and the merge of several files (user file < project file). Pure: files are read in src/cli.
 *
 *   { "profiles": { "default": { "partition": "debug" }, "gpu": { "gpusPerNode": 8, "setup": ["module load cuda"] } } }
 */
// a namespace import, not { z }: esbuild then keeps only what is used (170 KB instead of 750 KB with every locale)
import * as z from 'zod';
import { UsageError } from './errors.js';
import { configShape, jobOptionKeys } from './job-options.js';
import type { JobOptions } from './types.js';

/** One profile: the job options by their keys (src/core/job-options.ts). Unknown keys are errors. */
export const profileSchema = () => z.strictObject(configShape());

// built on first use: a command run without a config file never pays for the schemas
let configSchemaMemo: ReturnType<typeof makeConfigSchema> | undefined;
function makeConfigSchema() {
  return z.strictObject({
    $schema: z.string().optional(),
    profiles: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'profile names use letters, digits, _ . -'), profileSchema())
      .default({}),
  });
}

export type ProfileConfig = JobOptions;
export interface RayslConfig {
  profiles: Record<string, ProfileConfig>;
}

/** A config file's parsed content (JSON or YAML already decoded) -> typed config, or a UsageError naming file, key path and problem. */
export function validateConfig(data: unknown, file: string): RayslConfig {
  const result = (configSchemaMemo ??= makeConfigSchema()).safeParse(data ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String).join('.') || '(top level)';
  const more =
    result.error.issues.length > 1
      ? ` (and ${result.error.issues.length - 1} more problem${result.error.issues.length > 2 ? 's' : ''})`
      : '';
  let hint =
    'config files look like {"profiles": {"default": {...}, "gpu": {"gpusPerNode": 8}}}; keys are the job flags in camelCase';
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    hint = `remove or rename ${keys.join(', ')}; profile keys are: ${jobOptionKeys.join(', ')}`;
  }
  throw new UsageError(`${file}: ${path}: ${issue.message}${more}`, {
    hint,
    details: {
      file,
      path,
      issues: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    },
  });
}

/** Files lowest precedence first (user file, then project file): profiles with the same name merge key by key. */
export function mergeConfigs(configs: readonly RayslConfig[]): RayslConfig {
  // null prototype: a profile named __proto__, constructor or toString is just a name
  const profiles: Record<string, ProfileConfig> = Object.create(null) as Record<string, ProfileConfig>;
  for (const c of configs) {
    for (const [name, p] of Object.entries(c.profiles)) {
      const prev = Object.hasOwn(profiles, name) ? profiles[name] : undefined;
      profiles[name] = { ...prev, ...p, ...(p.env || prev?.env ? { env: { ...prev?.env, ...p.env } } : {}) };
    }
  }
  return { profiles };
}

/**
 * The profile layers for a job: `default` (when present) then the named one. Asking for a profile
 * that does not exist is an error listing the ones that do.
 */
export function profileLayers(config: RayslConfig, name: string | undefined, files: readonly string[]): JobOptions[] {
  const layers: JobOptions[] = [];
  if (Object.hasOwn(config.profiles, 'default')) layers.push(config.profiles.default!);
  if (name !== undefined && name !== 'default') {
    // own keys only: --profile toString must not find Object.prototype.toString
    const p = Object.hasOwn(config.profiles, name) ? config.profiles[name] : undefined;
    if (!p) {
      const known = Object.keys(config.profiles);
      throw new UsageError(
        `no profile named ${JSON.stringify(name)}${files.length ? ` in ${files.join(', ')}` : ' (no raysl.config.json/.yaml found)'}`,
        {
          hint: known.length
            ? `known profiles: ${known.join(', ')}`
            : 'add it under "profiles" in raysl.config.json (see raysl render --help)',
        },
      );
    }
    layers.push(p);
  }
  return layers;
}
