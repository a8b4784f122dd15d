/**
 * The config file format (raysl.config.json / .yaml): named profiles of job settings, validated with
 * zod, and the merge of several files (user file < project file). Pure: files are read in src/cli.
 *
 *   { "profiles": { "default": { "partition": "debug" }, "gpu": { "gpusPerNode": 8, "setup": ["module load cuda"] } } }
 */
import { z } from 'zod';
import { UsageError } from './errors.js';
import { parseMemMb, parseTimeLimit, validateEnvKey, validateSbatchArg, type JobInput } from './spec.js';

const checked = (check: (v: string) => unknown) =>
  z.string().superRefine((v, ctx) => {
    try {
      check(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  });

const singleLine = z.string().min(1).regex(/^[^\r\n\0]*$/, 'must be a single line');
const count = z.number().int().min(1);

/** One profile: the job flags by their camelCase names (see jobOptionTable). Unknown keys are errors. */
export const profileSchema = z.strictObject({
  nodes: count.optional(),
  minNodes: count.optional(),
  partition: singleLine.optional(),
  time: z.union([checked(parseTimeLimit), z.number().int().min(1).transform(String)]).optional(),
  account: singleLine.optional(),
  qos: singleLine.optional(),
  jobName: singleLine.optional(),
  gpusPerNode: z.number().int().min(0).optional(),
  cpusPerTask: count.optional(),
  mem: z.union([checked(parseMemMb), z.number().int().min(0).transform(String)]).optional(),
  exclusive: z.boolean().optional(),
  constraint: singleLine.optional(),
  reservation: singleLine.optional(),
  output: singleLine.optional(),
  sbatchArgs: z.array(checked(validateSbatchArg)).optional(),
  runtime: z.enum(['auto', 'ray', 'builtin']).optional(),
  joinTimeout: count.optional(),
  jobDir: singleLine.optional(),
  setup: z.array(z.string().regex(/^[^\r\n\0]*$/, 'one shell line per entry (no newlines)')).optional(),
  env: z
    .record(z.string(), z.union([z.string(), z.number().transform(String), z.boolean().transform(String)]))
    .superRefine((env, ctx) => {
      for (const key of Object.keys(env)) {
        try {
          validateEnvKey(key, 'env');
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: [key], message: err instanceof Error ? err.message : String(err) });
        }
      }
    })
    .optional(),
  python: singleLine.optional(),
  iface: singleLine.optional(),
  continueOnNodeLoss: z.boolean().optional(),
  rayAuth: z.enum(['token', 'off']).optional(),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  profiles: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'profile names use letters, digits, _ . -'), profileSchema).default({}),
});

export type ProfileConfig = JobInput;
export interface RayslConfig {
  profiles: Record<string, ProfileConfig>;
}

/** A config file's parsed content (JSON or YAML already decoded) -> typed config, or a UsageError naming file, key path and problem. */
export function validateConfig(data: unknown, file: string): RayslConfig {
  const result = configSchema.safeParse(data ?? {});
  if (result.success) return result.data as RayslConfig;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String).join('.') || '(top level)';
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem${result.error.issues.length > 2 ? 's' : ''})` : '';
  let hint = 'config files look like {"profiles": {"default": {...}, "gpu": {"gpusPerNode": 8}}}; keys are the job flags in camelCase';
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    hint = `remove or rename ${keys.join(', ')}; profile keys are: ${Object.keys(profileSchema.shape).join(', ')}`;
  }
  throw new UsageError(`${file}: ${path}: ${issue.message}${more}`, { hint, details: { file, path, issues: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) } });
}

/** Files lowest precedence first (user file, then project file): profiles with the same name merge key by key. */
export function mergeConfigs(configs: readonly RayslConfig[]): RayslConfig {
  const profiles: Record<string, ProfileConfig> = {};
  for (const c of configs) {
    for (const [name, p] of Object.entries(c.profiles)) {
      profiles[name] = { ...profiles[name], ...p, ...(p.env || profiles[name]?.env ? { env: { ...profiles[name]?.env, ...p.env } } : {}) };
    }
  }
  return { profiles };
}

/**
 * The profile layers for a job: `default` (when present) then the named one. Asking for a profile
 * that does not exist is an error listing the ones that do.
 */
export function profileLayers(config: RayslConfig, name: string | undefined, files: readonly string[]): JobInput[] {
  const layers: JobInput[] = [];
  if (config.profiles.default) layers.push(config.profiles.default);
  if (name !== undefined && name !== 'default') {
    const p = config.profiles[name];
    if (!p) {
      const known = Object.keys(config.profiles);
      throw new UsageError(`profile ${JSON.stringify(name)} not found${files.length ? ` in ${files.join(', ')}` : ' (no raysl.config.json/.yaml found)'}`, {
        hint: known.length ? `known profiles: ${known.join(', ')}` : 'add it under "profiles" in raysl.config.json (see raysl render --help)',
      });
    }
    layers.push(p);
  }
  return layers;
}
