/**
 * From job options to a JobSpec: the merge of layers (defaults < profile < flags) and the
 * validation that fills in defaults. The options themselves are declared in ./job-options.ts, their
 * values parsed in ./option-values.ts. No commander here: tests drive it directly.
 */
import { flagName, jobOptionKeys, jobOptionTable, type JobOptionKey } from './job-options.js';
import {
  assertNoNewline,
  parseMemMb,
  parseTimeLimit,
  usage,
  validateEnvKey,
  validateSbatchArg,
} from './option-values.js';
import { UsageError } from './errors.js';
import { containerPlan } from './container.js';
import type { JobOptions, JobSpec } from './types.js';

// what the spec tests have always imported from here
export { inputFromFlags, jobOptionTable } from './job-options.js';
export { parseMemMb, parseTimeLimit, validateSbatchArg } from './option-values.js';

/** One layer of job settings (a config profile or the flags), before defaults. */
export type JobInput = JobOptions;

const DEFAULT_JOIN_TIMEOUT_SEC = 120;
export const DEFAULT_JOB_DIR = 'raysl-jobs';

function takeScalar<K extends JobOptionKey>(out: JobOptions, layer: JobOptions, key: K): void {
  const v = layer[key];
  if (v !== undefined) out[key] = v;
}

/**
 * Layers, lowest first (default profile, named profile, flags): scalars from the highest layer that
 * sets them; lists (setup, sbatchArgs, resources) concatenated in layer order; env merged key by key.
 */
export function mergeInputs(layers: readonly JobInput[]): JobInput {
  const out: JobInput = {};
  for (const layer of layers) {
    for (const key of jobOptionKeys)
      if (key !== 'setup' && key !== 'sbatchArgs' && key !== 'env' && key !== 'resources') takeScalar(out, layer, key);
    if (layer.setup !== undefined) out.setup = [...(out.setup ?? []), ...layer.setup];
    if (layer.sbatchArgs !== undefined) out.sbatchArgs = [...(out.sbatchArgs ?? []), ...layer.sbatchArgs];
    if (layer.env !== undefined) out.env = { ...out.env, ...layer.env };
    if (layer.resources !== undefined) out.resources = [...(out.resources ?? []), ...layer.resources];
  }
  return out;
}

/** POSIX path join + normalise, pure (no node:path in core). `p` absolute wins. */
export function resolvePath(base: string, p: string): string {
  const joined = p.startsWith('/') ? p : `${base.replace(/\/+$/, '')}/${p}`;
  const parts: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** Merged input + entrypoint -> validated JobSpec with defaults filled in. */
export function buildSpec(
  entrypoint: string | null,
  args: readonly string[],
  input: JobInput,
  ctx: { cwd: string; profile?: string },
): JobSpec {
  if (entrypoint === '')
    throw usage(
      'entrypoint',
      'a file to run, e.g. train.py',
      entrypoint,
      'raysl render [flags] <entrypoint> [-- args]',
    );
  if (entrypoint !== null) assertNoNewline(entrypoint, 'the entrypoint path');
  for (const row of jobOptionTable) {
    const v = input[row.key];
    if (typeof v === 'string' && row.oneLine) assertNoNewline(v, flagName(row.key));
  }
  for (const line of input.setup ?? []) assertNoNewline(line, '--setup');
  for (const arg of input.sbatchArgs ?? []) validateSbatchArg(arg);
  for (const [key, value] of Object.entries(input.env ?? {})) {
    validateEnvKey(key);
    if (value.includes('\0'))
      throw new UsageError(`env ${key}: the value holds a NUL byte, which no environment variable can carry`, {
        hint: `remove the NUL (\\u0000) from the value of ${key}`,
      });
  }
  // sbatch expands %j, %u, %x... in --output, which lives in the job dir: the batch log would land elsewhere
  if (input.jobDir?.includes('%')) {
    throw new UsageError(`--job-dir ${JSON.stringify(input.jobDir)}: a job dir cannot contain %`, {
      hint: "sbatch expands % patterns (%j, %u...) in the batch log's path; pick a directory name without %",
    });
  }
  if (input.time !== undefined) parseTimeLimit(input.time);
  if (input.mem !== undefined) parseMemMb(input.mem);
  if (input.maxRestarts !== undefined && !input.requeue) {
    throw new UsageError(`--max-restarts ${input.maxRestarts} needs --requeue`, {
      hint: `add --requeue (the job is then requeued after a preemption or a lost node), or drop --max-restarts`,
    });
  }
  for (const key of ['idleTimeout', 'scaleUpDelay'] as const) {
    if (input[key] !== undefined && input.maxNodes === undefined) {
      throw new UsageError(`${flagName(key)} ${input[key]} needs --max-nodes`, {
        hint: `add --max-nodes <n> (the cluster then grows up to n nodes by itself), or drop ${flagName(key)}`,
      });
    }
  }
  // the options without a default pass through as given (JobSpec is JobOptions minus DefaultedOption, plus these)
  const {
    nodes = 1,
    sbatchArgs = [],
    runtime = 'auto',
    joinTimeout = DEFAULT_JOIN_TIMEOUT_SEC,
    jobDir = DEFAULT_JOB_DIR,
    setup = [],
    env = {},
    ...passthrough
  } = input;
  if (!Number.isInteger(nodes) || nodes < 1) throw usage('--nodes', 'at least 1 node', nodes, 'e.g. -N 2');
  if (input.minNodes !== undefined && (input.minNodes < 1 || input.minNodes > nodes)) {
    throw usage('--min-nodes', `a number from 1 to --nodes (${nodes})`, input.minNodes, `e.g. --min-nodes ${nodes}`);
  }
  containerPlan(input.containerImage, input.containerCmd); // both at once is refused here
  return {
    entrypoint,
    args: [...args],
    nodes,
    sbatchArgs,
    runtime,
    joinTimeoutSec: joinTimeout,
    jobDir: resolvePath(ctx.cwd, jobDir),
    setup,
    env,
    ...passthrough,
    ...(ctx.profile !== undefined ? { profile: ctx.profile } : {}),
  };
}
