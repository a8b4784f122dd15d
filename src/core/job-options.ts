/**
 * Every job option, declared once: a table keyed by JobOptions, so the compiler demands a row for
 * each key and a row whose values have the key's type. The CLI flags (src/cli/job-options.ts) and
 * the config-file keys (src/core/config.ts) are derived from it.
 */
// a namespace import, not { z }: esbuild then keeps only what is used (170 KB instead of 750 KB with every locale)
import * as z from 'zod';
import { parsePreflightMin } from './preflight.js';
import { parseNodeSelector, parseResourcesFlag, validateResourceMap, type ResourceGrant } from './resources.js';
import type { JobOptions } from './types.js';
import { parseContainerImage, shellWords } from './container.js';
import {
  assertNoNewline,
  LIMITS,
  hasProtoKey,
  parseCount,
  parseEnvPair,
  parseMemMb,
  parsePreemptSignal,
  parseRayAuth,
  parseRuntime,
  parseTimeLimit,
  protoKeyError,
  usage,
  validateEnvKey,
  validateSbatchArg,
} from './option-values.js';

export type JobOptionKey = keyof JobOptions;

export interface OptionSpec<T> {
  /** Commander flags, e.g. "-N, --nodes <n>"; the long name is the flag users see in messages. */
  flags: string;
  description: string;
  /** The value lands on an #SBATCH line or a line of the script: a newline is refused, naming the flag. */
  oneLine: boolean;
  /** The flag may be given more than once; commander collects the values in order. */
  repeatable: boolean;
  /** Commander's raw value (string, string[] when repeatable, true for a bare flag) -> typed value. */
  fromFlag(raw: unknown, what: string): T;
  /**
   * The value as a config file may write it. Built on first use: building zod schemas costs a few
   * milliseconds that a command without a config file (most calls) would pay at every start.
   */
  config(): z.ZodType<T>;
}

interface Base {
  flags: string;
  description: string;
  oneLine?: boolean;
}

const singleLine = () =>
  z
    .string()
    .min(1)
    .regex(/^[^\r\n\0]*$/, 'must be a single line');

/** A zod string checked by one of the value parsers; its UsageError message becomes the issue. */
const checked = (check: (v: string) => unknown) =>
  z.string().superRefine((v, ctx) => {
    try {
      check(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  });

function stringOf(raw: unknown, what: string, oneLine: boolean): string {
  if (typeof raw !== 'string') throw usage(what, 'a value', raw, `e.g. ${what} <value>`);
  if (oneLine) assertNoNewline(raw, what);
  return raw;
}

function listOf(raw: unknown): unknown[] {
  return Array.isArray(raw) ? raw : [raw];
}

function option<T>(
  base: Base,
  repeatable: boolean,
  fromFlag: (raw: unknown, what: string, oneLine: boolean) => T,
  makeConfig: () => z.ZodType<T>,
): OptionSpec<T> {
  const oneLine = base.oneLine ?? false;
  let schema: z.ZodType<T> | undefined;
  const config = () => (schema ??= makeConfig());
  return {
    flags: base.flags,
    description: base.description,
    oneLine,
    repeatable,
    fromFlag: (raw, what) => fromFlag(raw, what, oneLine),
    config,
  };
}

const count = (base: Base, min: number, limit: { max: number; why: string }) =>
  option(
    base,
    false,
    (raw, what, one) => parseCount(stringOf(raw, what, one), what, min, limit.max, limit.why),
    () => z.number().int().min(min).max(limit.max, `at most ${limit.max} (${limit.why})`),
  );

const text = (base: Base) =>
  option(
    base,
    false,
    (raw, what, one) => {
      const v = stringOf(raw, what, one);
      if (v === '') throw usage(what, 'a non-empty value', v, `drop ${what} or give it a value`);
      // `--account --profile x`: the next flag was taken as the value (no account, partition or name starts with -)
      if (v.startsWith('-'))
        throw usage(
          what,
          'a value, not a flag',
          v,
          `give ${what} its value right after it (e.g. ${what} <value>); values starting with - are refused`,
        );
      return v;
    },
    singleLine,
  );

/** A Slurm value kept as written (sbatch reads it) once `parse` accepts it; config files may write a bare number. */
const slurmValue = (base: Base, parse: (v: string) => unknown, minNumber: number) =>
  option(
    base,
    false,
    (raw, what, one) => {
      const v = stringOf(raw, what, one);
      parse(v);
      return v.trim();
    },
    () => z.union([checked(parse), z.number().int().min(minNumber).transform(String)]),
  );

const choice = <T extends string>(base: Base, values: readonly [T, ...T[]], parse: (raw: string) => T) =>
  option(
    base,
    false,
    (raw, what, one) => parse(stringOf(raw, what, one)),
    () => z.enum(values),
  );

const flag = (base: Base) =>
  option(
    base,
    false,
    (raw) => raw === true,
    () => z.boolean(),
  );

const lines = (base: Base, each: (v: string) => string, config: () => z.ZodType<string[]>) =>
  option(base, true, (raw, what, one) => listOf(raw).map((v) => each(stringOf(v, what, one))), config);

const envMap = (base: Base) =>
  option(
    base,
    true,
    (raw, what) =>
      Object.fromEntries(
        listOf(raw).map((v) => {
          if (typeof v !== 'string') throw usage(what, 'KEY=VALUE', v, 'e.g. --env NCCL_DEBUG=INFO');
          return parseEnvPair(v);
        }),
      ),
    () =>
      // __proto__ checked on the decoded input: z.record's copy would drop it before any refinement sees it
      z
        .custom<unknown>((x) => !hasProtoKey(x), { message: protoKeyError('env').message })
        .pipe(
          z
            .record(z.string(), z.union([z.string(), z.number().transform(String), z.boolean().transform(String)]))
            .superRefine((env, ctx) => {
              for (const key of Object.keys(env)) {
                try {
                  validateEnvKey(key, 'env');
                } catch (err) {
                  ctx.addIssue({
                    code: 'custom',
                    path: [key],
                    message: err instanceof Error ? err.message : String(err),
                  });
                }
              }
            }),
        ),
  );

/** One row per key of JobOptions, typed by that key's value (a mapped type over the key union: none may be left out). */
type OptionTable = { [K in JobOptionKey]: OptionSpec<Required<JobOptions>[K]> };

/** Config files write resources keyed by node selector: {"all": {"trainer": 1}, "head": {"ps": 1}, "1-2": {"x": 1}}. */
const resourceGrants = () =>
  z.record(z.string(), z.unknown()).transform((bySelector, ctx): ResourceGrant[] => {
    const grants: ResourceGrant[] = [];
    for (const [selector, map] of Object.entries(bySelector)) {
      try {
        grants.push({ nodes: parseNodeSelector(selector), resources: validateResourceMap(map) });
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [selector], message: err instanceof Error ? err.message : String(err) });
      }
    }
    return grants;
  });

/** Every job option. Order = order in --help. */
export const jobOptions: OptionTable = {
  nodes: count(
    { flags: '-N, --nodes <n>', description: 'nodes in the allocation (default 1)', oneLine: true },
    1,
    LIMITS.nodes,
  ),
  minNodes: count(
    { flags: '--min-nodes <n>', description: 'start the entrypoint once this many nodes joined (default: all)' },
    1,
    LIMITS.nodes,
  ),
  partition: text({
    flags: '-p, --partition <name>',
    description: "Slurm partition (default: the cluster's default partition)",
    oneLine: true,
  }),
  time: slurmValue(
    {
      flags: '-t, --time <limit>',
      description: 'time limit as sbatch takes it: MM, HH:MM:SS, D-HH[:MM[:SS]]',
      oneLine: true,
    },
    parseTimeLimit,
    1,
  ),
  account: text({ flags: '-A, --account <name>', description: 'account to charge', oneLine: true }),
  qos: text({ flags: '-q, --qos <name>', description: 'quality of service', oneLine: true }),
  jobName: text({
    flags: '-J, --job-name <name>',
    description: 'job name (default raysl-<entrypoint name>)',
    oneLine: true,
  }),
  gpusPerNode: count(
    {
      flags: '--gpus-per-node <n>',
      description: 'GPUs per node (GRES); the runtime sees exactly these',
      oneLine: true,
    },
    0,
    LIMITS.gpusPerNode,
  ),
  headCpusOnly: flag({
    flags: '--head-cpus-only',
    description:
      'run the head in a heterogeneous job component of its own without GPUs; the -N GPU nodes run only workers',
    oneLine: true,
  }),
  cpusPerTask: count(
    {
      flags: '-c, --cpus-per-task <n>',
      description: "CPUs per node (default: the smallest eligible node's CPU count)",
      oneLine: true,
    },
    1,
    LIMITS.cpusPerTask,
  ),
  mem: slurmValue(
    { flags: '--mem <size>', description: 'memory per node as sbatch takes it (4096, 64G, 0 = all)', oneLine: true },
    parseMemMb,
    0,
  ),
  exclusive: flag({ flags: '--exclusive', description: 'do not share nodes with other jobs', oneLine: true }),
  constraint: text({
    flags: '-C, --constraint <expr>',
    description: 'node features, e.g. a100 or "a100&ib"',
    oneLine: true,
  }),
  reservation: text({ flags: '--reservation <name>', description: 'run inside this reservation', oneLine: true }),
  output: text({
    flags: '-o, --output <pattern>',
    description: 'batch log path (default <job-dir>/raysl-%j.out)',
    oneLine: true,
  }),
  sbatchArgs: lines(
    {
      flags: '--sbatch-arg <arg>',
      description: 'extra sbatch argument, one word, e.g. --sbatch-arg=--mail-type=END (repeatable)',
      oneLine: true,
    },
    validateSbatchArg,
    () => z.array(checked(validateSbatchArg)),
  ),
  runtime: choice(
    { flags: '--runtime <name>', description: 'auto | ray | builtin (auto: ray for .py, builtin otherwise)' },
    ['auto', 'ray', 'builtin'],
    parseRuntime,
  ),
  joinTimeout: count(
    {
      flags: '--join-timeout <sec>',
      description: 'seconds to wait for --min-nodes nodes to join (default 120, at most 7 days)',
    },
    1,
    LIMITS.joinTimeout,
  ),
  jobDir: text({
    flags: '--job-dir <dir>',
    description: 'parent of per-job directories, on a shared filesystem (default ./raysl-jobs)',
    oneLine: true,
  }),
  setup: lines(
    {
      flags: '--setup <line>',
      description: 'shell line run before the controller, e.g. "module load cuda" (repeatable)',
      oneLine: true,
    },
    (v) => v,
    () => z.array(z.string().regex(/^[^\r\n\0]*$/, 'one shell line per entry (no newlines)')),
  ),
  env: envMap({
    flags: '--env <KEY=VAL>',
    description:
      'environment for controller, agents and entrypoint (repeatable); a bare KEY passes its value from here, off the command line',
  }),
  python: text({
    flags: '--python <interp>',
    description: 'interpreter for .py entrypoints (default python3)',
    oneLine: true,
  }),
  iface: text({
    flags: '--iface <name>',
    description: "network interface the runtime binds (default: the node's Slurm address)",
    oneLine: true,
  }),
  continueOnNodeLoss: flag({
    flags: '--continue-on-node-loss',
    description: 'keep running when a node is lost after joining',
  }),
  rayAuth: choice(
    {
      flags: '--ray-auth <mode>',
      description: "token | off: Ray's token authentication with the job's secret (default token, Ray >= 2.52)",
    },
    ['token', 'off'],
    parseRayAuth,
  ),
  resources: option(
    {
      flags: '--resources <json>',
      description:
        'custom resources per node: \'{"trainer": 1}\' (every node) or <nodes>={json}, nodes = head, workers, N or N-M (0 = head) (repeatable)',
    },
    true,
    (raw, what) => listOf(raw).map((v) => parseResourcesFlag(stringOf(v, what, false))),
    resourceGrants,
  ),
  preflight: flag({
    flags: '--preflight',
    description:
      'check every node before its runtime starts (/dev/shm, scratch disk, GPUs, the runtime); a failing node is named, or left out under --min-nodes',
  }),
  preflightMin: option(
    {
      flags: '--preflight-min <checks>',
      description: 'preflight thresholds (implies --preflight), default shm=1G,disk=1G',
    },
    false,
    (raw, what, one) => parsePreflightMin(stringOf(raw, what, one)),
    () => checked(parsePreflightMin).transform(parsePreflightMin),
  ),
  containerImage: option(
    {
      flags: '--container-image <image>',
      description: 'run agents and entrypoint in this pyxis/enroot image (srun --container-image)',
      oneLine: true,
    },
    false,
    (raw, what, one) => parseContainerImage(stringOf(raw, what, one), what),
    () => checked(parseContainerImage).transform((v) => v.trim()),
  ),
  containerCmd: option(
    {
      flags: '--container-cmd <command>',
      description: 'wrapper put before the agent\'s and entrypoint\'s command, e.g. "apptainer exec --nv img.sif"',
      oneLine: true,
    },
    false,
    (raw, what, one) => shellWords(stringOf(raw, what, one), what),
    () =>
      z.union([
        checked((v) => shellWords(v, 'containerCmd')).transform((v) => shellWords(v, 'containerCmd')),
        z
          .array(z.string().regex(/^[^\0]*$/, 'no NUL bytes'))
          .min(1)
          .refine(
            (w) => !(w[0] ?? '').startsWith('-') && w[0] !== '',
            'the first word is the program, not an option or empty',
          ),
      ]),
  ),
  preemptGrace: count(
    {
      flags: '--preempt-grace <sec>',
      description:
        'Slurm signals the controller (USR2) this many seconds before the time limit (10-65535, less than --time); the entrypoint gets it less a teardown reserve (a quarter, at most 30 s). Default with --time: half the limit, between 30 and 120 s',
      oneLine: true,
    },
    10,
    LIMITS.preemptGrace,
  ),
  // config files write it as the flag does ("INT" or "SIGINT"), so not a plain choice
  preemptSignal: option(
    {
      flags: '--preempt-signal <sig>',
      description: "signal the entrypoint's process group gets at the warning: TERM (default), INT, HUP or USR2",
    },
    false,
    (raw, what, one) => parsePreemptSignal(stringOf(raw, what, one)),
    () => checked(parsePreemptSignal).transform(parsePreemptSignal),
  ),
  requeue: flag({
    flags: '--requeue',
    description: 'requeue the job after a preemption or a lost node (scontrol requeue), up to --max-restarts times',
    oneLine: true,
  }),
  maxRestarts: count(
    {
      flags: '--max-restarts <n>',
      description: 'with --requeue: requeue while SLURM_RESTART_COUNT is below n (default 1)',
    },
    1,
    LIMITS.maxRestarts,
  ),
  maxNodes: count(
    {
      flags: '--max-nodes <n>',
      description:
        "grow automatically up to n nodes in all: work that waits longer than --scale-up-delay and fits a node of the job's shape starts a satellite job; satellites idle for --idle-timeout are shrunk (docs/autoscale.md)",
    },
    1,
    LIMITS.nodes,
  ),
  idleTimeout: count(
    {
      flags: '--idle-timeout <sec>',
      description: 'with --max-nodes: shrink a satellite once all its nodes were idle this long (default 300)',
    },
    1,
    LIMITS.idleTimeout,
  ),
  scaleUpDelay: count(
    {
      flags: '--scale-up-delay <sec>',
      description: 'with --max-nodes: how long work waits before raysl grows for it (default 10; 0 = at once)',
    },
    0,
    LIMITS.scaleUpDelay,
  ),
};

// The table's annotation admits exactly the keys of JobOptions, no more and no fewer.
export const jobOptionKeys = Object.keys(jobOptions) as JobOptionKey[];

export type JobOptionRow = OptionSpec<unknown> & { key: JobOptionKey };

/** The table as rows in --help order. */
export const jobOptionTable: readonly JobOptionRow[] = jobOptionKeys.map((key) => ({ key, ...jobOptions[key] }));

/** The flag as users type it, for messages: "--gpus-per-node". */
export function flagName(key: JobOptionKey): string {
  return jobOptions[key].flags.match(/--[a-z-]+/)?.[0] ?? key;
}

/** The attribute commander stores a flag under: "--sbatch-arg" -> "sbatchArg". */
export function attributeOf(key: JobOptionKey): string {
  return flagName(key)
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function setFromFlag<K extends JobOptionKey>(out: JobOptions, key: K, raw: unknown): void {
  out[key] = jobOptions[key].fromFlag(raw, flagName(key));
}

/** Commander's parsed options -> JobOptions (only the job flags that were given). */
export function inputFromFlags(opts: Record<string, unknown>): JobOptions {
  const input: JobOptions = {};
  for (const key of jobOptionKeys) {
    const raw = opts[attributeOf(key)];
    // commander leaves an absent option undefined; a bare flag not given is never `false` here, but a --no-x would be
    if (raw !== undefined && raw !== false) setFromFlag(input, key, raw);
  }
  return input;
}

type ConfigShape = { [K in JobOptionKey]: z.ZodOptional<z.ZodType<Required<JobOptions>[K]>> };

/** Each option's config schema under its key, optional: the shape of one config profile. */
export function configShape(): ConfigShape {
  // every key of the table, each mapped to its own row's schema
  return Object.fromEntries(jobOptionKeys.map((key) => [key, jobOptions[key].config().optional()])) as ConfigShape;
}
