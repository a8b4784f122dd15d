/**
 * How agents get onto nodes: the interface the controller calls and src/launchers/ implements
 * (it lives here so the controller never imports a launcher). The controller does not care whether an agent is an srun task on a
 * real node or a child process pretending to be one; everything that differs lives here:
 * node addresses, where other jobs' port blocks are recorded, and starting/stopping the agents.
 */
import type { HetComponent, LauncherName, NodeResources, PortBlock } from '../core/types.js';

export interface AgentTarget {
  node: string;
  role: 'head' | 'worker';
  address: string;
  /** Absolute path of agent-<node>.log. */
  log: string;
}

export interface LaunchRequest {
  jobId: string;
  /** Head first. */
  targets: AgentTarget[];
  /** argv that runs `raysl agent` (e.g. [node, /path/raysl.mjs, 'agent']); the launcher adds per-node flags. */
  agentArgv: string[];
  /** host:port of the control server. */
  controller: string;
  /** Environment for every agent; holds RAYSL_TOKEN (inherited, never argv). */
  env: NodeJS.ProcessEnv;
  perNode: NodeResources;
  /** --head-cpus-only: each role's het component (its index and per-node resources); absent otherwise. */
  hetjob?: HetComponent[];
  /** Log sink for launcher progress. */
  log: (line: string) => void;
  /**
   * The job's node-local dirs (scratch root, a runtime's dirs outside it): a launcher that can run
   * something on a node removes them there as soon as that node's agent ended uncleanly.
   */
  nodeDirs?: string[];
}

export interface AgentExit {
  /** The node, when the exit belongs to one node (local); srun steps name their nodes. */
  nodes: string[];
  code: number | null;
  signal: string | null;
}

export interface LaunchedAgents {
  /** Called for each agent process (local) or step (srun) that exits. */
  onExit(cb: (e: AgentExit) => void): void;
  /** Resolves once every process/step the launcher started has exited. */
  allExited: Promise<void>;
  /** TERM (or srun's forced termination), grace, KILL; resolves when all are gone or the bound passed. */
  stop(graceMs: number): Promise<void>;
  /** Pids of the processes the launcher started (local: agents; srun: the srun clients). */
  pids(): number[];
}

/** Where the entrypoint runs: the head node, its working dir and script, the job dir, the GPUs per node. */
export interface EntrypointAt {
  head: string;
  cwd: string;
  entrypoint: string;
  jobDir: string;
  /** The head's GPUs (none under --head-cpus-only). */
  gpus: number;
  /** --head-cpus-only: the head's het component, which a step on it must name. */
  hetGroup?: number;
}

export interface Launcher {
  name: LauncherName;
  /**
   * Whether all nodes share one port space (the local launcher's simulated nodes do; Slurm nodes are
   * separate hosts). A runtime that binds wildcard addresses then needs a slice of ports per node.
   */
  sharedPortSpace: boolean;
  /** The address each node's agent and runtime bind. */
  resolveAddresses(nodes: string[]): Promise<Record<string, string>>;
  /** Port blocks of other raysl jobs that share any of these nodes. */
  takenBlocks(jobId: string, nodes: string[]): Promise<PortBlock[]>;
  /** Makes our block visible to later jobs (Slurm Comment / local registry). */
  recordBlock(jobId: string, block: PortBlock, controller: string): Promise<void>;
  /** Withdraws the record (local registry; Slurm forgets finished jobs by itself). */
  releaseBlock(jobId: string): Promise<void>;
  launch(req: LaunchRequest): Promise<LaunchedAgents>;
  /**
   * After the agents are gone: KILLs whatever of the job is still running and removes the job's
   * node-local dirs (an agent killed with SIGKILL cannot stop its runtime or tidy up); returns how
   * many processes it killed. Slurm's launcher kills none (the job's cgroup ends every process when
   * the allocation ends) but removes the dirs on nodes whose agent did not end cleanly.
   */
  sweep?(jobId: string, dirs: string[], boundMs: number): Promise<number>;
  /**
   * The argv that runs the entrypoint's `argv` (already after `--container-cmd`'s wrapper): the srun
   * launcher under `--container-image` makes it a pyxis step on the head; absent: `argv` itself.
   */
  entrypointStep?(at: EntrypointAt, argv: string[]): string[];
}
