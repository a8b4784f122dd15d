/**
 * The values job options take, parsed and checked: Slurm time limits and memory sizes, counts,
 * environment names, sbatch words raysl does not own, single lines. Pure; every refusal is a
 * UsageError saying what was expected, what was received, and a hint.
 */
import { UsageError } from './errors.js';
import type { PreemptSignal, RayAuth, RuntimeChoice } from './types.js';

export function usage(what: string, expected: string, received: unknown, hint: string): UsageError {
  return new UsageError(`${what}: expected ${expected}, received ${JSON.stringify(received)}`, { hint });
}

/**
 * Upper bounds of the numeric flags: beyond them a value is a typo, and some would break things
 * (timers overflow past 2^31 ms, a heap sized by a count). `why` says where the bound comes from.
 */
export const LIMITS = {
  nodes: { max: 65536, why: 'the most nodes raysl plans for in one allocation' },
  joinTimeout: { max: 7 * 86400, why: '7 days in seconds' },
  gpusPerNode: { max: 1024, why: 'far more GPUs than any node holds' },
  cpusPerTask: { max: 65536, why: 'far more CPUs than any node holds' },
  memMb: { max: 1024 ** 3, why: '1P (1024^3 MB) per node' },
  timeSec: { max: 365 * 86400, why: 'a year; use --time UNLIMITED for no limit' },
  // sbatch --signal takes at most 65535 s; under 10 s Slurm's 30-60 s check granularity makes it moot
  preemptGrace: { max: 65535, why: "sbatch --signal's own limit" },
  maxRestarts: { max: 100, why: 'a job requeued more often than that is stuck in a loop' },
  idleTimeout: { max: 7 * 86400, why: '7 days in seconds' },
  scaleUpDelay: { max: 86400, why: 'a day in seconds' },
} as const;

export function parseCount(raw: string, what: string, min = 1, max = Number.MAX_SAFE_INTEGER, why?: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw usage(
      what,
      `a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`,
      raw,
      `e.g. ${what} ${Math.min(max, Math.max(min, 4))}`,
    );
  }
  const n = Number(raw);
  if (n > max)
    throw new UsageError(`${what}: at most ${max}${why ? ` (${why})` : ''}, received ${JSON.stringify(raw)}`, {
      hint: `use ${what} ${max} or less`,
    });
  return n;
}

/**
 * Slurm time limits (sbatch(1) --time): "minutes", "minutes:seconds", "hours:minutes:seconds",
 * "days-hours", "days-hours:minutes", "days-hours:minutes:seconds"; UNLIMITED/INFINITE -> Infinity.
 * Returns seconds.
 */
export function parseTimeLimit(raw: string): number {
  const s = raw.trim();
  if (/^(unlimited|infinite)$/i.test(s)) return Infinity;
  const bad = () =>
    usage(
      '--time',
      'MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS',
      raw,
      'e.g. --time 2:00:00 (two hours) or --time 1-12 (a day and a half)',
    );
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
  if (secs > LIMITS.timeSec.max)
    throw new UsageError(`--time: at most 365 days (${LIMITS.timeSec.why}), received ${JSON.stringify(raw)}`, {
      hint: 'e.g. --time 7-00:00:00 (a week), or --time UNLIMITED',
    });
  return secs;
}

/** sbatch --mem: a number with an optional K/M/G/T suffix (default M). Returns MB; 0 means "all of the node". */
export function parseMemMb(raw: string): number {
  const m = raw.trim().match(/^(\d+)([KMGT])?B?$/i);
  if (!m) throw usage('--mem', 'a size like 4096, 500M, 64G or 1T', raw, 'e.g. --mem 64G (per node)');
  const unit = (m[2] ?? 'M').toUpperCase();
  const factor = unit === 'K' ? 1 / 1024 : unit === 'G' ? 1024 : unit === 'T' ? 1024 * 1024 : 1;
  const mb = Math.floor(Number(m[1]) * factor);
  if (!(mb <= LIMITS.memMb.max))
    throw new UsageError(`--mem: at most ${LIMITS.memMb.why}, received ${JSON.stringify(raw)}`, {
      hint: 'e.g. --mem 64G (per node), or --mem 0 for all of the node',
    });
  return mb;
}

export function parseRuntime(raw: string): RuntimeChoice {
  if (raw === 'auto' || raw === 'ray' || raw === 'builtin') return raw;
  throw usage('--runtime', 'auto, ray or builtin', raw, 'e.g. --runtime builtin');
}

export function parseRayAuth(raw: string): RayAuth {
  if (raw === 'token' || raw === 'off') return raw;
  throw usage(
    '--ray-auth',
    'token or off',
    raw,
    "e.g. --ray-auth off (Ray's dashboard and Jobs API are then open to anyone who reaches the head)",
  );
}

const PREEMPT_SIGNALS: readonly PreemptSignal[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'];

/** --preempt-signal: TERM, SIGTERM, term... -> 'SIGTERM'; USR1 is refused (NCCL uses it). */
export function parsePreemptSignal(raw: string): PreemptSignal {
  const name = `SIG${raw.trim().toUpperCase().replace(/^SIG/, '')}`;
  const found = PREEMPT_SIGNALS.find((s) => s === name);
  if (found) return found;
  throw usage(
    '--preempt-signal',
    'TERM, INT, HUP or USR2',
    raw,
    name === 'SIGUSR1'
      ? 'USR1 is taken (NCCL uses it); e.g. --preempt-signal USR2'
      : 'e.g. --preempt-signal INT (Python raises KeyboardInterrupt)',
  );
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Names raysl or Slurm set for the job: overriding them would break the cluster or its GPU binding.
const RESERVED_ENV =
  /^(SLURM_|SBATCH_|SRUN_|RAYSL_)|^(CUDA_VISIBLE_DEVICES|ROCR_VISIBLE_DEVICES|HIP_VISIBLE_DEVICES|GPU_DEVICE_ORDINAL|ZE_AFFINITY_MASK|RAY_ADDRESS|RAY_API_SERVER_ADDRESS|RAY_AUTH_MODE|RAY_AUTH_TOKEN|RAY_AUTH_TOKEN_PATH)$/;

export function validateEnvKey(key: string, what = '--env'): void {
  if (!ENV_KEY.test(key)) {
    throw usage(
      what,
      'KEY=VALUE with KEY made of letters, digits and _ (not starting with a digit)',
      key,
      'e.g. --env NCCL_DEBUG=INFO',
    );
  }
  if (key === PROTO_KEY) throw protoKeyError(what);
  if (RESERVED_ENV.test(key)) {
    throw new UsageError(`${what}: ${key} is set by Slurm or raysl for the job and cannot be overridden`, {
      hint: `${reservedEnvWhy(key)}; drop this --env entry`,
    });
  }
}

/** A legal shell name that no JavaScript object holds as a plain key: refused rather than dropped. */
const PROTO_KEY = '__proto__';

export function protoKeyError(what: string): UsageError {
  return new UsageError(`${what}: ${PROTO_KEY} cannot be an environment variable name for a job`, {
    hint: `${PROTO_KEY} is a special key of JavaScript objects (raysl would drop it silently); rename the variable`,
  });
}

/** Whether a decoded config object carries __proto__ as an own key (JSON.parse keeps it; a plain copy drops it). */
export function hasProtoKey(x: unknown): boolean {
  return typeof x === 'object' && x !== null && Object.hasOwn(x, PROTO_KEY);
}

function reservedEnvWhy(key: string): string {
  if (key.startsWith('RAY_AUTH'))
    return "Ray's authentication follows --ray-auth (token with the job's secret, or off)";
  if (key === 'RAY_ADDRESS' || key === 'RAY_API_SERVER_ADDRESS') return `raysl points ${key} at the job's own head`;
  if (key.startsWith('RAYSL_')) return "raysl sets RAYSL_* for the job's processes (its address, token, job id)";
  if (/^(SLURM_|SBATCH_|SRUN_)/.test(key))
    return "Slurm sets SLURM_* for the job and reads SBATCH_*/SRUN_* as its own options; give Slurm options with raysl's flags or --sbatch-arg";
  return 'GPUs come from --gpus-per-node (Slurm binds them)';
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
const OWNED_SBATCH_OPTIONS: Readonly<Record<string, string>> = {
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
  '--signal': 'use --preempt-grace <seconds> (raysl asks for USR2 that long before the limit)',
  '--requeue': 'use --requeue --max-restarts N (the controller requeues and keeps each attempt apart)',
  '--no-requeue': 'raysl already asks for --no-requeue unless --requeue is given',
  '--open-mode': 'raysl sets --open-mode=append with --requeue so a requeue keeps the batch log',
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
  N: '--nodes',
  n: '--ntasks',
  c: '--cpus-per-task',
  G: '--gpus',
  a: '--array',
  J: '--job-name',
  p: '--partition',
  t: '--time',
  A: '--account',
  q: '--qos',
  C: '--constraint',
  o: '--output',
  W: '--wait',
};

/** Validates one --sbatch-arg word; returns it unchanged. */
export function validateSbatchArg(arg: string): string {
  assertNoNewline(arg, '--sbatch-arg');
  if (!arg.startsWith('-') || arg === '-' || arg === '--') {
    throw usage(
      '--sbatch-arg',
      'one sbatch option word starting with -, e.g. --mail-type=END',
      arg,
      'write the option and its value as one word: --sbatch-arg=--comment=hello',
    );
  }
  let long: string;
  if (arg.startsWith('--')) long = arg.slice(0, arg.includes('=') ? arg.indexOf('=') : undefined);
  else long = SHORT_TO_LONG[arg.charAt(1)] ?? `-${arg.charAt(1)}`;
  const why = OWNED_SBATCH_OPTIONS[long];
  // --gres is fine for anything but GPUs (e.g. --gres=nvme:1); GPUs must go through --gpus-per-node
  const gpuGres = long === '--gres' && /(^|[=,])gpu\b/.test(arg);
  // sbatch accepts unambiguous prefixes (--nod=4): refuse prefixes of owned options too
  const prefixOf =
    long.length >= 5
      ? Object.keys(OWNED_SBATCH_OPTIONS).find((o) => o !== long && o.startsWith(long) && !why)
      : undefined;
  if (why || gpuGres || prefixOf) {
    throw new UsageError(`--sbatch-arg ${arg}: raysl sets ${gpuGres ? '--gres=gpu' : (prefixOf ?? long)} itself`, {
      hint: gpuGres
        ? 'use --gpus-per-node (the runtime must see exactly the GPUs Slurm grants)'
        : (why ?? OWNED_SBATCH_OPTIONS[prefixOf!]!),
    });
  }
  return arg;
}

export function assertNoNewline(value: string, what: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new UsageError(`${what} must be a single line, received ${JSON.stringify(value)}`, {
      hint: `remove the newline from ${what}`,
    });
  }
}
