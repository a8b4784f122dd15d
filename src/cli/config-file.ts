/**
 * Finds and reads config files: raysl.config.json|yaml from the working directory upward (the
 * project file) and $XDG_CONFIG_HOME/raysl/config.json|yaml or ~/.config/raysl/... (the user file).
 * Validation and merging are pure (src/core/config.ts); this file only does the I/O.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { mergeConfigs, validateConfig, type RayslConfig } from '../core/config.js';
import { UsageError } from '../core/errors.js';

export interface LoadedConfig {
  config: RayslConfig;
  /** Files read, lowest precedence first (user, then project). */
  files: string[];
}

const PROJECT_NAMES = ['raysl.config.json', 'raysl.config.yaml', 'raysl.config.yml'];
const USER_NAMES = ['config.json', 'config.yaml', 'config.yml'];

function oneOf(dir: string, names: readonly string[]): string | undefined {
  const found = names.map((n) => join(dir, n)).filter((p) => existsSync(p));
  if (found.length > 1) {
    throw new UsageError(`two raysl config files in ${dir}: ${found.join(' and ')}`, {
      hint: 'keep one of them (JSON or YAML), so it is clear which one applies',
    });
  }
  return found[0];
}

/** The nearest raysl.config.{json,yaml} in cwd or a parent directory. */
export function findProjectConfig(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = oneOf(dir, PROJECT_NAMES);
    if (file) return file;
    if (dirname(dir) === dir) return undefined;
  }
}

export function findUserConfig(env: NodeJS.ProcessEnv): string | undefined {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : env.HOME ? join(env.HOME, '.config') : undefined;
  return base ? oneOf(join(base, 'raysl'), USER_NAMES) : undefined;
}

/**
 * Reads, decodes and validates one file; relative jobDir values are taken relative to the file's
 * directory. The YAML parser loads only for a YAML file: most calls have none, and it is a quarter
 * of a megabyte to load on every command.
 */
export async function readConfigFile(file: string): Promise<RayslConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config file ${file}: ${(err as Error).message}`, {
      hint: 'check its permissions, or remove it',
      cause: err,
    });
  }
  const yaml = /\.ya?ml$/.test(file);
  const parse: (text: string) => unknown = yaml ? await yamlParser() : JSON.parse;
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    // only the parser's verdict on the text is the user's error; anything else is ours (exit 70)
    if (!isSyntaxError(err)) throw err;
    throw new UsageError(`${file}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`, {
      hint: yaml
        ? 'fix the syntax at the line and column the message names (YAML: indentation with spaces, `key: value`)'
        : 'fix the syntax (a JSON validator or `node -e "JSON.parse(require(\'fs\').readFileSync(0))" < file` shows where)',
      cause: err,
    });
  }
  const config = validateConfig(data, file);
  for (const profile of Object.values(config.profiles)) {
    if (profile.jobDir !== undefined) profile.jobDir = resolve(dirname(file), profile.jobDir);
  }
  return config;
}

/**
 * yaml's parse(). The package is CommonJS: Node's import gives its named exports, but in the bundle
 * (a chunk of its own, see scripts/build.mjs) the module is the default export only. Either way one
 * function comes out, or an internal error says which shape was found.
 */
async function yamlParser(): Promise<(text: string) => unknown> {
  const mod = (await import('yaml')) as { parse?: unknown; default?: { parse?: unknown } };
  const parse = typeof mod.parse === 'function' ? mod.parse : mod.default?.parse;
  if (typeof parse !== 'function')
    throw new Error(`the yaml package has no parse() (exports: ${Object.keys(mod).join(', ')})`);
  return parse as (text: string) => unknown;
}

/** JSON.parse's SyntaxError, or one of yaml's errors (YAMLParseError, YAMLWarning): the text is at fault. */
export function isSyntaxError(err: unknown): boolean {
  return err instanceof SyntaxError || (err instanceof Error && /^YAML/.test(err.name));
}

export async function loadConfig(cwd: string, env: NodeJS.ProcessEnv): Promise<LoadedConfig> {
  const files = [findUserConfig(env), findProjectConfig(cwd)].filter((f): f is string => f !== undefined);
  // the same file can be both (a project under ~/.config/raysl): read it once
  const unique = [...new Set(files)];
  return { config: mergeConfigs(await Promise.all(unique.map(readConfigFile))), files: unique };
}
