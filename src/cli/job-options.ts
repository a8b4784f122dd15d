/**
 * The job flags shared by render, submit and run, built from the option table in src/core/job-options.ts,
 * and the one function that turns flags + config profile + defaults into a validated JobSpec.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { profileLayers } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { inputFromFlags, jobOptionTable } from '../core/job-options.js';
import { buildSpec, mergeInputs } from '../core/spec.js';
import { entrypointKind } from '../core/entrypoint.js';
import type { JobSpec } from '../core/types.js';
import { loadConfig } from './config-file.js';
import type { Io } from './io.js';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds every job flag plus --profile and --no-check. Values stay raw strings here; specFromCli parses them. */
export function addJobOptions(cmd: Command): Command {
  for (const row of jobOptionTable) {
    const opt = new Option(row.flags, row.description);
    if (row.repeatable) opt.argParser(collect);
    cmd.addOption(opt);
  }
  cmd.addOption(
    new Option('--profile <name>', 'config profile to apply (raysl.config.json "profiles"; "default" always applies)'),
  );
  cmd.addOption(
    new Option('--no-check', 'skip cluster facts (sinfo unreachable): nothing is checked against the partition'),
  );
  return cmd;
}

/** The entrypoint must exist now (the pure planner cannot look): absolute path, or a UsageError with a hint. */
function resolveEntrypoint(entrypoint: string, cwd: string): string {
  if (entrypoint === '')
    throw new UsageError('no entrypoint given', {
      hint: 'raysl render [flags] <entrypoint> [-- args], e.g. raysl render -N 2 train.py',
    });
  const abs = resolve(cwd, entrypoint);
  let isFile = false;
  try {
    isFile = statSync(abs).isFile();
  } catch {
    throw new UsageError(`entrypoint ${entrypoint} not found (looked for ${abs})`, {
      hint: 'check the path; it is resolved against the current directory, which must be on a filesystem the nodes share',
    });
  }
  if (!isFile)
    throw new UsageError(`entrypoint ${entrypoint} is not a file (${abs})`, {
      hint: 'pass the script to run, e.g. train.py or train.ts',
    });
  assertReadable(entrypoint, abs);
  if (entrypointKind(abs) === 'exec') {
    try {
      accessSync(abs, constants.X_OK);
    } catch {
      throw new UsageError(`entrypoint ${entrypoint} has no known extension and is not executable`, {
        hint: `chmod +x ${entrypoint}, or give it an extension raysl knows (.py .ts .js .sh)`,
      });
    }
  }
  return abs;
}

/**
 * The entrypoint must be readable now, not after the cluster formed. Mode 000 is refused for root
 * too: root reads it here, but the interpreter or exec on the nodes may not (root squash, no x bit).
 */
function assertReadable(entrypoint: string, abs: string): void {
  let readable = (statSync(abs).mode & 0o444) !== 0;
  try {
    accessSync(abs, constants.R_OK);
  } catch {
    readable = false;
  }
  if (!readable)
    throw new UsageError(`entrypoint ${entrypoint} is not readable (${abs})`, { hint: `chmod u+r ${entrypoint}` });
}

/**
 * Setup lines go into the batch script as written: one that is not valid shell (an unmatched quote)
 * would break the whole script at run time, far from its cause. `bash -n` says so now.
 */
function assertSetupParses(lines: readonly string[]): void {
  if (lines.length === 0) return;
  const parses = (text: string) => {
    const r = spawnSync('bash', ['-n'], { input: text, encoding: 'utf8', timeout: 10_000 });
    return r.error !== undefined || r.status === 0; // no bash here: nothing to check against
  };
  if (parses(lines.join('\n') + '\n')) return;
  const bad = lines.find((l) => !parses(l + '\n')) ?? lines.join('; ');
  throw new UsageError(`--setup ${JSON.stringify(bad)} is not a valid shell line (bash -n refuses it)`, {
    hint: "each --setup entry is one complete shell line: close its quotes and brackets (e.g. --setup 'module load cuda/12.4')",
  });
}

/**
 * `--env KEY` without `=`: KEY's value in raysl's own environment (as `docker run -e KEY` does), so
 * a secret never has to be typed on a command line, where every user's `ps` shows it.
 */
export function envFromHere(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  if (!Array.isArray(opts.env)) return opts;
  const pairs = (opts.env as unknown[]).map((v) => {
    if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return v; // KEY=VALUE, or refused by the parser
    const value = env[v];
    if (value === undefined) {
      throw new UsageError(`--env ${v}: ${v} is not set in this environment, so there is no value to pass`, {
        hint: `export ${v}=... before running raysl (keeps the value off the command line), or give --env ${v}=VALUE`,
      });
    }
    return `${v}=${value}`;
  });
  return { ...opts, env: pairs };
}

/** Flags (commander's opts) + config profile + defaults -> validated JobSpec. Flags win over the profile, the profile over defaults. */
export async function specFromCli(
  entrypoint: string | null,
  args: string[],
  opts: Record<string, unknown>,
  io: Io,
): Promise<JobSpec> {
  const profile = typeof opts.profile === 'string' ? opts.profile : undefined;
  const { config, files } = await loadConfig(io.cwd, io.env);
  const layers = profileLayers(config, profile, files);
  const flags = inputFromFlags(envFromHere(opts, io.env));
  const input = mergeInputs([...layers, flags]);
  const abs = entrypoint === null ? null : resolveEntrypoint(entrypoint, io.cwd);
  const spec = buildSpec(abs, args, input, { cwd: io.cwd, ...(profile !== undefined ? { profile } : {}) });
  assertSetupParses(spec.setup);
  return spec;
}
