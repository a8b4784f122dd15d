/**
 * Job flags as data: the option table (one row per flag, shared by render/submit/run), the pure
 * parsers that turn flag strings into a typed JobInput, and the merge + validation that turns
 * layers (defaults < profile < flags) into a JobSpec. No commander here: tests drive it directly.
 */
import { UsageError } from './errors.js';
import type { JobSpec, RayAuth, RuntimeChoice } from './types.js';

/** One layer of job settings (a config profile or the flags), before defaults. Config files use these keys. */
export interface JobInput {
  nodes?: number;
  minNodes?: number;
  partition?: string;
  time?: string;
  account?: string;
  qos?: string;
  jobName?: string;
  gpusPerNode?: number;
  cpusPerTask?: number;
  mem?: string;
  exclusive?: boolean;
  constraint?: string;
  reservation?: string;
  output?: string;
  sbatchArgs?: string[];
  runtime?: RuntimeChoice;
  joinTimeout?: number;
  jobDir?: string;
  setup?: string[];
  env?: Record<string, string>;
  python?: string;
  iface?: string;
  continueOnNodeLoss?: boolean;
  rayAuth?: RayAuth;
}

export type JobInputKey = keyof JobInput;

export type OptionKind = 'count' | 'seconds' | 'string' | 'time' | 'mem' | 'runtime' | 'ray-auth' | 'flag' | 'repeat' | 'env';

export interface JobOptionRow {
  /** Commander flags, e.g. "-N, --nodes <n>". */
  flags: string;
  /** Key in JobInput (also the config-file key and commander's attribute name). */
  key: JobInputKey;
  kind: OptionKind;
  description: string;
  /** True when the value ends up on an #SBATCH line (so newlines are refused, naming the flag). */
  sbatch?: boolean;
}

/** Every job flag. Order = order in --help. */
export const jobOptionTable: readonly JobOptionRow[] = [
  { flags: '-N, --nodes <n>', key: 'nodes', kind: 'count', description: 'nodes in the allocation (default 1)', sbatch: true },
  { flags: '--min-nodes <n>', key: 'minNodes', kind: 'count', description: 'start the entrypoint once this many nodes joined (default: all)' },
  { flags: '-p, --partition <name>', key: 'partition', kind: 'string', description: "Slurm partition (default: the cluster's default partition)", sbatch: true },
  { flags: '-t, --time <limit>', key: 'time', kind: 'time', description: 'time limit as sbatch takes it: MM, HH:MM:SS, D-HH[:MM[:SS]]', sbatch: true },
  { flags: '-A, --account <name>', key: 'account', kind: 'string', description: 'account to charge', sbatch: true },
  { flags: '-q, --qos <name>', key: 'qos', kind: 'string', description: 'quality of service', sbatch: true },
  { flags: '-J, --job-name <name>', key: 'jobName', kind: 'string', description: 'job name (default raysl-<entrypoint name>)', sbatch: true },
  { flags: '--gpus-per-node <n>', key: 'gpusPerNode', kind: 'count', description: 'GPUs per node (GRES); the runtime sees exactly these', sbatch: true },
  { flags: '-c, --cpus-per-task <n>', key: 'cpusPerTask', kind: 'count', description: "CPUs per node (default: the smallest eligible node's CPU count)", sbatch: true },
  { flags: '--mem <size>', key: 'mem', kind: 'mem', description: 'memory per node as sbatch takes it (4096, 64G, 0 = all)', sbatch: true },
  { flags: '--exclusive', key: 'exclusive', kind: 'flag', description: 'do not share nodes with other jobs', sbatch: true },
  { flags: '-C, --constraint <expr>', key: 'constraint', kind: 'string', description: 'node features, e.g. a100 or "a100&ib"', sbatch: true },
  { flags: '--reservation <name>', key: 'reservation', kind: 'string', description: 'run inside this reservation', sbatch: true },
  { flags: '-o, --output <pattern>', key: 'output', kind: 'string', description: 'batch log path (default <job-dir>/raysl-%j.out)', sbatch: true },
  { flags: '--sbatch-arg <arg>', key: 'sbatchArgs', kind: 'repeat', description: 'extra sbatch argument, one word, e.g. --sbatch-arg=--mail-type=END (repeatable)', sbatch: true },
  { flags: '--runtime <name>', key: 'runtime', kind: 'runtime', description: 'auto | ray | builtin (auto: ray for .py, builtin otherwise)' },
  { flags: '--join-timeout <sec>', key: 'joinTimeout', kind: 'seconds', description: 'seconds to wait for --min-nodes nodes to join (default 120)' },
  { flags: '--job-dir <dir>', key: 'jobDir', kind: 'string', description: 'parent of per-job directories, on a shared filesystem (default ./raysl-jobs)' },
  { flags: '--setup <line>', key: 'setup', kind: 'repeat', description: 'shell line run before the controller, e.g. "module load cuda" (repeatable)' },
  { flags: '--env <KEY=VAL>', key: 'env', kind: 'env', description: 'environment for controller, agents and entrypoint (repeatable)' },
  { flags: '--python <interp>', key: 'python', kind: 'string', description: 'interpreter for .py entrypoints (default python3)' },
  { flags: '--iface <name>', key: 'iface', kind: 'string', description: "network interface the runtime binds (default: the node's Slurm address)" },
  { flags: '--continue-on-node-loss', key: 'continueOnNodeLoss', kind: 'flag', description: 'keep running when a node is lost after joining' },
  { flags: '--ray-auth <mode>', key: 'rayAuth', kind: 'ray-auth', description: "token | off: Ray's token authentication with the job's secret (default token, Ray >= 2.52)" },
];

export const DEFAULT_JOIN_TIMEOUT_SEC = 120;
export const DEFAULT_JOB_DIR = 'raysl-jobs';

/** The flag as users type it, for messages: "--gpus-per-node". */
export function flagName(key: JobInputKey): string {
  const row = jobOptionTable.find((r) => r.key === key);
  const long = row?.flags.match(/--[a-z-]+/)?.[0];
  return long ?? key;
}

function usage(what: string, expected: string, received: unknown, hint: string): UsageError {
  return new UsageError(`${what}: expected ${expected}, received ${JSON.stringify(received)}`, { hint });
}

export function parseCount(raw: string, what: string, min = 1): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw usage(what, `a whole number >= ${min}`, raw, `e.g. ${what} ${Math.max(min, 4)}`);
  }
  return Number(raw);
}

/**
 * Slurm time limits (sbatch(1) --time): "minutes", "minutes:seconds", "hours:minutes:seconds",
 * "days-hours", "days-hours:minutes", "days-hours:minutes:seconds"; UNLIMITED/INFINITE -> Infinity.
 * Returns seconds.
 */
export function parseTimeLimit(raw: string): number {
  const s = raw.trim();
  if (/^(unlimited|infinite)$/i.test(s)) return Infinity;
  const bad = () => usage('--time', 'MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS', raw, 'e.g. --time 2:00:00 (two hours) or --time 1-12 (a day and a half)');
  const n = (x: string | undefined) => (x !== undefined && /^\d+$/.test(x) ? Number(x) : NaN);
  let secs: number;
  const dash = s.match(/^(\d+)-(\d+)(?::(\d+))?(?::(\d+))?$/);
  if (dash) {
    secs = n(dash[1]) * 86400 + n(dash[2]) * 3600 + (dash[3] ? n(dash[3]) * 60 : 0) + (dash[4] ? n(dash[4]) : 0);
  } else {
    const parts = s.split(':');
    if (parts.length === 1) secs = n(parts[0]) * 60;
    else if (parts.length === 2) secs = n(parts[0]) * 60 + n(parts[1]);
    else if (parts.length === 3) secs = n(parts[0]) * 3600 + n(parts[1]) * 60 + n(parts[2]);
    else throw bad();
  }
  if (!Number.isFinite(secs) || secs <= 0) throw bad();
  return secs;
}

/** sbatch --mem: a number with an optional K/M/G/T suffix (default M). Returns MB; 0 means "all of the node". */
export function parseMemMb(raw: string): number {
  const m = raw.trim().match(/^(\d+)([KMGT])?B?$/i);
  if (!m) throw usage('--mem', 'a size like 4096, 500M, 64G or 1T', raw, 'e.g. --mem 64G (per node)');
  const unit = (m[2] ?? 'M').toUpperCase();
  const factor = unit === 'K' ? 1 / 1024 : unit === 'G' ? 1024 : unit === 'T' ? 1024 * 1024 : 1;
  return Math.floor(Number(m[1]) * factor);
}

export function parseRuntime(raw: string): RuntimeChoice {
  if (raw === 'auto' || raw === 'ray' || raw === 'builtin') return raw;
  throw usage('--runtime', 'auto, ray or builtin', raw, 'e.g. --runtime builtin');
}

export function parseRayAuth(raw: string): RayAuth {
  if (raw === 'token' || raw === 'off') return raw;
  throw usage('--ray-auth', 'token or off', raw, "e.g. --ray-auth off (Ray's dashboard and Jobs API are then open to anyone who reaches the head)");
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Names raysl or Slurm set for the job: overriding them would break the cluster or its GPU binding.
const RESERVED_ENV = /^(SLURM_|SBATCH_|SRUN_|RAYSL_)|^(CUDA_VISIBLE_DEVICES|ROCR_VISIBLE_DEVICES|HIP_VISIBLE_DEVICES|GPU_DEVICE_ORDINAL|ZE_AFFINITY_MASK|RAY_ADDRESS|RAY_API_SERVER_ADDRESS|RAY_AUTH_MODE|RAY_AUTH_TOKEN|RAY_AUTH_TOKEN_PATH)$/;

export function validateEnvKey(key: string, what = '--env'): void {
  if (!ENV_KEY.test(key)) {
    throw usage(what, 'KEY=VALUE with KEY made of letters, digits and _ (not starting with a digit)', key, 'e.g. --env NCCL_DEBUG=INFO');
  }
  if (RESERVED_ENV.test(key)) {
    throw new UsageError(`${what}: ${key} is set by Slurm or raysl for the job and cannot be overridden`, {
      hint: key.startsWith('RAY_AUTH') ? "Ray's authentication follows --ray-auth (token with the job's secret, or off); drop this --env entry" : 'GPUs come from --gpus-per-node (Slurm binds them); drop this --env entry',
    });
  }
}

export function parseEnvPair(raw: string): [string, string] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw usage('--env', 'KEY=VALUE', raw, 'e.g. --env NCCL_DEBUG=INFO');
  const key = raw.slice(0, eq);
  validateEnvKey(key);
  return [key, raw.slice(eq + 1)];
}

/**
 * sbatch options raysl owns. Some decide correctness (the node/task/CPU/GPU shape the runtime is
 * told about, the teardown signal, how submit reads the job id), the rest have a raysl flag of their
 * own so the plan knows the value. Keys: long names; short forms map to them.
 */
export const OWNED_SBATCH_OPTIONS: Readonly<Record<string, string>> = {
  '--nodes': 'use -N/--nodes',
  '--ntasks': 'raysl runs one task per node',
  '--ntasks-per-node': 'raysl runs one task per node',
  '--ntasks-per-core': 'raysl runs one task per node',
  '--ntasks-per-socket': 'raysl runs one task per node',
  '--ntasks-per-gpu': 'raysl runs one task per node',
  '--cpus-per-task': 'use -c/--cpus-per-task',
  '--cpus-per-gpu': 'use -c/--cpus-per-task',
  '--gpus': 'use --gpus-per-node (the runtime must see exactly the GPUs Slurm grants)',
  '--gpus-per-node': 'use --gpus-per-node',
  '--gpus-per-task': 'use --gpus-per-node',
  '--gpus-per-socket': 'use --gpus-per-node',
  '--mem': 'use --mem',
  '--mem-per-cpu': 'use --mem (memory per node)',
  '--mem-per-gpu': 'use --mem (memory per node)',
  '--signal': 'raysl sets --signal from --time so the controller tears down before the kill',
  '--parsable': 'raysl submit reads the job id itself',
  '--wrap': 'the script is the job',
  '--array': 'one raysl cluster per allocation; submit several jobs instead',
  '--export': 'the controller needs the submitting environment (add variables with --env)',
  '--job-name': 'use -J/--job-name',
  '--partition': 'use -p/--partition',
  '--time': 'use -t/--time',
  '--account': 'use -A/--account',
  '--qos': 'use -q/--qos',
  '--exclusive': 'use --exclusive',
  '--constraint': 'use -C/--constraint',
  '--reservation': 'use --reservation',
  '--output': 'use -o/--output',
  '--wait': 'use raysl submit --follow',
};

const SHORT_TO_LONG: Readonly<Record<string, string>> = {
  N: '--nodes', n: '--ntasks', c: '--cpus-per-task', G: '--gpus', a: '--array', J: '--job-name', p: '--partition',
  t: '--time', A: '--account', q: '--qos', C: '--constraint', o: '--output', W: '--wait',
};

/** Validates one --sbatch-arg word; returns it unchanged. */
export function validateSbatchArg(arg: string): string {
  assertNoNewline(arg, '--sbatch-arg');
  if (!arg.startsWith('-') || arg === '-' || arg === '--') {
    throw usage('--sbatch-arg', 'one sbatch option word starting with -, e.g. --mail-type=END', arg, 'write the option and its value as one word: --sbatch-arg=--comment=hello');
  }
  let long: string;
  if (arg.startsWith('--')) long = arg.slice(0, arg.includes('=') ? arg.indexOf('=') : undefined);
  else long = SHORT_TO_LONG[arg.charAt(1)] ?? `-${arg.charAt(1)}`;
  const why = OWNED_SBATCH_OPTIONS[long];
  // --gres is fine for anything but GPUs (e.g. --gres=nvme:1); GPUs must go through --gpus-per-node
  const gpuGres = long === '--gres' && /(^|[=,])gpu\b/.test(arg);
  // sbatch accepts unambiguous prefixes (--nod=4): refuse prefixes of owned options too
  const prefixOf = long.length >= 5 ? Object.keys(OWNED_SBATCH_OPTIONS).find((o) => o !== long && o.startsWith(long) && !why) : undefined;
  if (why || gpuGres || prefixOf) {
    throw new UsageError(`--sbatch-arg ${arg}: raysl sets ${gpuGres ? '--gres=gpu' : (prefixOf ?? long)} itself`, {
      hint: gpuGres ? 'use --gpus-per-node (the runtime must see exactly the GPUs Slurm grants)' : (why ?? OWNED_SBATCH_OPTIONS[prefixOf!]!),
    });
  }
  return arg;
}

export function assertNoNewline(value: string, what: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new UsageError(`${what} must be a single line, received ${JSON.stringify(value)}`, { hint: `remove the newline from ${what}` });
  }
}

/** Turns one flag's raw commander value into its typed JobInput value (pure; throws UsageError naming the flag). */
export function parseFlagValue(row: JobOptionRow, raw: unknown): JobInput[JobInputKey] {
  const what = flagName(row.key);
  const str = (v: unknown): string => {
    if (typeof v !== 'string') throw usage(what, 'a value', v, `e.g. ${what} <value>`);
    if (row.sbatch || row.key === 'setup') assertNoNewline(v, what);
    return v;
  };
  switch (row.kind) {
    case 'count':
      return parseCount(str(raw), what, row.key === 'gpusPerNode' ? 0 : 1);
    case 'seconds':
      return parseCount(str(raw), what, 1);
    case 'time':
      parseTimeLimit(str(raw));
      return str(raw).trim();
    case 'mem':
      parseMemMb(str(raw));
      return str(raw).trim();
    case 'runtime':
      return parseRuntime(str(raw));
    case 'ray-auth':
      return parseRayAuth(str(raw));
    case 'string': {
      const v = str(raw);
      if (v === '') throw usage(what, 'a non-empty value', v, `drop ${what} or give it a value`);
      return v;
    }
    case 'flag':
      return raw === true;
    case 'repeat': {
      const list = (Array.isArray(raw) ? raw : [raw]).map(str);
      return row.key === 'sbatchArgs' ? list.map(validateSbatchArg) : list;
    }
    case 'env': {
      const list = (Array.isArray(raw) ? raw : [raw]).map((v) => {
        if (typeof v !== 'string') throw usage(what, 'KEY=VALUE', v, 'e.g. --env NCCL_DEBUG=INFO');
        return v;
      });
      return Object.fromEntries(list.map(parseEnvPair));
    }
  }
}

/** The attribute commander stores a flag under: "--sbatch-arg" -> "sbatchArg". */
export function attributeOf(row: JobOptionRow): string {
  const long = row.flags.match(/--([a-z-]+)/)![1]!;
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Commander's parsed options -> JobInput (only the job flags that were given). */
export function inputFromFlags(opts: Record<string, unknown>): JobInput {
  const input: Record<string, unknown> = {};
  for (const row of jobOptionTable) {
    const raw = opts[attributeOf(row)];
    if (raw === undefined || (row.kind === 'flag' && raw !== true)) continue;
    input[row.key] = parseFlagValue(row, raw);
  }
  return input as JobInput;
}

/**
 * Layers, lowest first (default profile, named profile, flags): scalars from the highest layer that
 * sets them; lists (setup, sbatchArgs) concatenated in layer order; env merged key by key.
 */
export function mergeInputs(layers: readonly JobInput[]): JobInput {
  const out: JobInput = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer) as Array<[JobInputKey, unknown]>) {
      if (v === undefined) continue;
      if (k === 'setup' || k === 'sbatchArgs') out[k] = [...(out[k] ?? []), ...(v as string[])];
      else if (k === 'env') out.env = { ...out.env, ...(v as Record<string, string>) };
      else (out as Record<string, unknown>)[k] = v;
    }
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
export function buildSpec(entrypoint: string, args: readonly string[], input: JobInput, ctx: { cwd: string; profile?: string }): JobSpec {
  if (entrypoint === '') throw usage('entrypoint', 'a file to run, e.g. train.py', entrypoint, 'raysl render [flags] <entrypoint> [-- args]');
  assertNoNewline(entrypoint, 'the entrypoint path');
  for (const row of jobOptionTable) {
    const v = input[row.key];
    if (typeof v === 'string' && (row.sbatch || row.key === 'jobDir' || row.key === 'python' || row.key === 'iface')) assertNoNewline(v, flagName(row.key));
  }
  for (const line of input.setup ?? []) assertNoNewline(line, '--setup');
  for (const arg of input.sbatchArgs ?? []) validateSbatchArg(arg);
  for (const key of Object.keys(input.env ?? {})) validateEnvKey(key);
  if (input.time !== undefined) parseTimeLimit(input.time);
  if (input.mem !== undefined) parseMemMb(input.mem);
  const nodes = input.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1) throw usage('--nodes', 'at least 1 node', nodes, 'e.g. -N 2');
  if (input.minNodes !== undefined && (input.minNodes < 1 || input.minNodes > nodes)) {
    throw usage('--min-nodes', `a number from 1 to --nodes (${nodes})`, input.minNodes, `e.g. --min-nodes ${nodes}`);
  }
  const spec: JobSpec = {
    entrypoint,
    args: [...args],
    nodes,
    sbatchArgs: input.sbatchArgs ?? [],
    runtime: input.runtime ?? 'auto',
    joinTimeoutSec: input.joinTimeout ?? DEFAULT_JOIN_TIMEOUT_SEC,
    jobDir: resolvePath(ctx.cwd, input.jobDir ?? DEFAULT_JOB_DIR),
    setup: input.setup ?? [],
    env: input.env ?? {},
  };
  const optional = ['minNodes', 'partition', 'time', 'account', 'qos', 'jobName', 'gpusPerNode', 'cpusPerTask', 'mem', 'exclusive', 'constraint', 'reservation', 'output', 'python', 'iface', 'continueOnNodeLoss', 'rayAuth'] as const;
  for (const k of optional) if (input[k] !== undefined) (spec as unknown as Record<string, unknown>)[k] = input[k];
  if (ctx.profile !== undefined) spec.profile = ctx.profile;
  return spec;
}
