/**
 * The data contract between the stages of a job (DESIGN.md, "How a job flows"):
 *   flags + profile -> JobSpec;  sinfo -> ClusterFacts;  plan(spec, facts) -> Plan;
 *   render(plan) -> sbatch text;  the controller reads the Plan back from the script.
 * Plain data only: everything here must survive JSON.stringify/parse unchanged.
 */
import type { PreflightMin } from './preflight.js';
import type { ResourceGrant } from './resources.js';

export type RuntimeName = 'ray' | 'builtin';
export type RuntimeChoice = 'auto' | RuntimeName;
export type LauncherName = 'srun' | 'local';
/** Ray's token authentication (RAY_AUTH_MODE=token with the job's secret) or none. */
export type RayAuth = 'token' | 'off';
/** What the controller sends the entrypoint's process group at Slurm's warning (never USR1: NCCL uses it). */
export type PreemptSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGUSR2';

/**
 * One layer of job settings (a config profile, or the flags) before defaults. Every key is a job
 * option: the table in src/core/job-options.ts must have a row for each (the compiler checks), and
 * the CLI flags and the config-file keys come from that table.
 */
export interface JobOptions {
  nodes?: number;
  /** The job proceeds once this many nodes have their runtime up (default: nodes). */
  minNodes?: number;
  partition?: string;
  time?: string;
  account?: string;
  qos?: string;
  jobName?: string;
  gpusPerNode?: number;
  cpusPerTask?: number;
  /** Memory per node as sbatch takes it (e.g. "64G", "4096"). */
  mem?: string;
  exclusive?: boolean;
  constraint?: string;
  reservation?: string;
  output?: string;
  /** Extra sbatch arguments, passed as given after validation (never ones raysl owns). */
  sbatchArgs?: string[];
  runtime?: RuntimeChoice;
  /** Seconds the controller waits for --min-nodes agents to join. */
  joinTimeout?: number;
  /** Parent of the per-job directories `<jobDir>/<jobid>/`. */
  jobDir?: string;
  /** Shell lines run in the batch script before the controller (module load, venv activate). */
  setup?: string[];
  /** Extra environment for the controller, agents and entrypoint. */
  env?: Record<string, string>;
  /** Interpreter override for .py entrypoints (default python3). */
  python?: string;
  /** Network interface whose address the runtime binds (e.g. ib0); default: the node's Slurm address. */
  iface?: string;
  /** Keep running when a node is lost after joining (default: fail fast with exit 5). */
  continueOnNodeLoss?: boolean;
  /** Ray's token authentication (default token). */
  rayAuth?: RayAuth;
  /** Custom resources nodes advertise to the scheduler (builtin, or Ray's --resources), in order: later grants win. */
  resources?: ResourceGrant[];
  /** Check every node before its runtime starts (core/preflight.ts). */
  preflight?: boolean;
  /** The preflight's thresholds (implies preflight). */
  preflightMin?: PreflightMin;
  /** pyxis/enroot image every agent and the entrypoint run in (srun --container-image). */
  containerImage?: string;
  /** Wrapper argv put before the agent's and the entrypoint's argv, e.g. ["apptainer", "exec", "--nv", "img.sif"]. */
  containerCmd?: string[];
  /** Seconds before the time limit Slurm sends the controller USR2 (default 120, or half a short limit, when --time is given). */
  preemptGrace?: number;
  /** Signal the entrypoint's process group gets at the warning (default SIGTERM). */
  preemptSignal?: PreemptSignal;
  /** sbatch --requeue: the controller requeues the job after a preemption or a lost node. */
  requeue?: boolean;
  /** Requeue while SLURM_RESTART_COUNT is below this (needs --requeue; default 1). */
  maxRestarts?: number;
  /** The head in a heterogeneous job component of its own without GPUs; -N counts the GPU worker nodes. */
  headCpusOnly?: boolean;
  /** Grow automatically with satellite jobs up to this many nodes in all (core/autoscale.ts). */
  maxNodes?: number;
  /** With maxNodes: seconds all of a satellite's nodes must be idle before it is shrunk (default 300). */
  idleTimeout?: number;
  /** With maxNodes: seconds work waits before raysl grows for it (default 10). */
  scaleUpDelay?: number;
}

/** How agents and the entrypoint enter a container: a pyxis image, or a wrapper command. */
export type ContainerPlan = { image: string } | { cmd: string[] };

/** The options buildSpec gives a default (or, for joinTimeout, a new name); the rest pass through as given. */
export type DefaultedOption = 'nodes' | 'sbatchArgs' | 'runtime' | 'joinTimeout' | 'jobDir' | 'setup' | 'env';

/** What the user asked for, after flags, profile and defaults are merged and validated. */
export interface JobSpec extends Omit<JobOptions, DefaultedOption> {
  /** Entrypoint as the user wrote it (a path); resolved to an absolute path by the planner. Null: `raysl up` (no entrypoint, the cluster holds for `raysl exec`). */
  entrypoint: string | null;
  /** Arguments after `--`, passed through untouched. */
  args: string[];
  nodes: number;
  sbatchArgs: string[];
  runtime: RuntimeChoice;
  /** Seconds the controller waits for --min-nodes agents to join. */
  joinTimeoutSec: number;
  /** Absolute after planning. */
  jobDir: string;
  setup: string[];
  env: Record<string, string>;
  /** Config profile the spec came from, for the record. */
  profile?: string;
}

/** One node as sinfo reports it. */
export interface NodeFacts {
  name: string;
  cpus: number;
  memoryMb: number;
  /** GPUs in the node's GRES (sum over gpu types). */
  gpus: number;
  /** GRES string as reported, e.g. "gpu:a100:8" or "(null)". */
  gres: string;
  /** sinfo's state, lower case, e.g. "idle", "mixed", "alloc", "down*". */
  state: string;
  partitions: string[];
  features: string[];
}

/** Everything read from the cluster before planning; the planner never shells out. */
export interface ClusterFacts {
  /** Where the facts came from; "none" under --no-check. */
  source: 'sinfo' | 'none' | 'local';
  slurmVersion?: string;
  /** Partition the facts describe (the default partition when none was asked for). */
  partition?: string;
  nodes: NodeFacts[];
  /** /proc/sys/net/ipv4/ip_local_port_range of the login node (compute nodes usually match). */
  ephemeralPortRange: [number, number];
}

/** Where each named port sits inside a job's port block (offsets from the block base). */
export interface PortLayout {
  /** Number of ports in the block. */
  size: number;
  /** Named single ports, e.g. { controller: 0, gcs: 1, ... }. */
  ports: Record<string, number>;
  /** Named contiguous ranges, e.g. { worker: { offset: 16, count: 80 } }. */
  ranges: Record<string, { offset: number; count: number }>;
}

/** A concrete block: ports [base, base + size). */
export interface PortBlock {
  base: number;
  size: number;
}

/** Resources one node brings to the cluster, as Slurm will grant them. */
export interface NodeResources {
  cpus: number;
  gpus: number;
  /** Undefined when the job asked for no memory and facts are unknown. */
  memoryMb?: number;
}

/** The user's entrypoint as the controller runs it on the head. */
export interface PlanEntrypoint {
  /** Absolute path. */
  path: string;
  args: string[];
  /** argv prefix that runs it, e.g. ["python3", "-u"], ["bash"], ["<tsx>"] or [] for executables. */
  interpreter: string[];
  /** Short tag of the interpreter choice: "tsx" | "node" | "python" | "bash" | "exec". */
  kind: 'tsx' | 'node' | 'python' | 'bash' | 'exec';
}

/** One component of a heterogeneous job (--head-cpus-only): which role its nodes play and what each gets. */
export interface HetComponent {
  /** Slurm's het group: `srun --het-group=<index>`, SLURM_JOB_NODELIST_HET_GROUP_<index>. */
  index: number;
  role: 'head' | 'worker';
  nodes: number;
  perNode: NodeResources;
  /** This component's #SBATCH lines, in order (component 0's are also Plan.sbatch). */
  sbatch: Array<[string, string]>;
}

/** The versioned plan: written into the sbatch script and into <job-dir>/<jobid>/plan.json. */
export interface Plan {
  version: 1;
  /** raysl version that made the plan. */
  raysl: string;
  runtime: RuntimeName;
  /** How the runtime was chosen, for `render` to show ("auto: .py entrypoint -> ray"). */
  runtimeReason: string;
  /** What runs on the head once the cluster formed; null for `raysl up`: the controller holds the cluster for `raysl exec` until it is stopped. */
  entrypoint: PlanEntrypoint | null;
  nodes: number;
  minNodes: number;
  /** What each GPU node gets (with a CPU-only head: each worker; the head's is in hetjob). */
  perNode: NodeResources;
  aggregate: NodeResources;
  /** --head-cpus-only: [head component (0, no GPUs), worker component (1)]; nodes counts both. */
  hetjob?: [HetComponent, HetComponent];
  /** Port block layout; the controller picks the base at run time (nodes unknown before). */
  portLayout: PortLayout;
  /** Inclusive bounds a block must fit in: above well-known ports, below the ephemeral range. */
  portRange: { min: number; max: number };
  joinTimeoutSec: number;
  /** Absolute parent directory of per-job directories. */
  jobDir: string;
  env: Record<string, string>;
  setup: string[];
  iface?: string;
  continueOnNodeLoss: boolean;
  /** Ray runtime: token authentication with the job's secret, or off (said as a warning). */
  rayAuth: RayAuth;
  /** Custom resources per node (customResourcesFor picks one node's map); absent when none were asked for. */
  resources?: ResourceGrant[];
  /** Each node checks itself against these before its runtime starts; absent without --preflight. */
  preflight?: PreflightMin;
  /** Container the agents and the entrypoint run in; absent: on the host. */
  container?: ContainerPlan;
  /** Slurm's warning before the time limit or a preemption (`--signal=B:USR2@warnSec`); absent without one. */
  preempt?: {
    /** Seconds before the limit the controller gets USR2. */
    warnSec: number;
    /** Seconds the entrypoint gets after `signal` before teardown (warnSec less a reserve for teardown). */
    entrypointGraceSec: number;
    signal: PreemptSignal;
  };
  /** --requeue: after a preemption or a lost node the controller runs `scontrol requeue` while SLURM_RESTART_COUNT < maxRestarts. */
  requeue?: { maxRestarts: number };
  /** --max-nodes: the controller grows and shrinks the cluster with satellite jobs (core/autoscale.ts); absent: it never does by itself. */
  autoscale?: { maxNodes: number; idleTimeoutSec: number; scaleUpDelaySec: number };
  /** The sbatch options raysl emits, in order, as [flag, value] ("--nodes", "4"); value "" for bare flags. */
  sbatch: Array<[string, string]>;
  /** Extra sbatch arguments from --sbatch-arg, validated. */
  sbatchExtra: string[];
  /** Job name used for -J (also what `raysl ls` recognises). */
  jobName: string;
  /** Facts source the plan was checked against. */
  checkedAgainst: ClusterFacts['source'];
  /** Warnings for the user (e.g. --no-check). */
  warnings: string[];
}
