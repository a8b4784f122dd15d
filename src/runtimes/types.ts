/**
 * The runtime adapter interface: what an agent needs to bring a runtime up on its node and
 * take it down again. Implementations: builtin/ (the agents form the cluster) and ray.ts.
 */
import type { NodeResources, PortLayout, RayAuth, RuntimeName } from '../core/types.js';
import type { PendingWork, Resources } from '../core/autoscale.js';

export interface RuntimeNodeContext {
  jobId: string;
  role: 'head' | 'worker';
  /** Slurm node name (or simulated name under the local launcher). */
  nodeName: string;
  /** Address this node's runtime binds (never 0.0.0.0). */
  address: string;
  /** Interface the user named (--iface ib0); the runtime binds its address instead of `address`. */
  iface?: string;
  /** Head's address. */
  headAddress: string;
  /** This node's port base; the head's (headPortBase) differs only when nodes share a port space. */
  portBase: number;
  headPortBase: number;
  layout: PortLayout;
  resources: NodeResources;
  /** Custom resources this node advertises (customResourcesFor(plan.resources, ...)); none when absent. */
  customResources?: Record<string, number>;
  /** Per-job, per-node scratch directory on node-local disk (the runtime's temp dir lives here). */
  scratchDir: string;
  /** Ray: token authentication with the job's secret in tokenFile (0600), or off. */
  rayAuth: RayAuth;
  tokenFile: string;
  /** Where the runtime copies its own logs (bounded) before its temp dir is removed. */
  runtimeLogDir: string;
  /** Environment for processes the runtime starts. */
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export interface RuntimeProcess {
  /** Address the runtime actually binds (the --iface address when one was named); default ctx.address. */
  address?: string;
  /** What the user should know about this node's runtime (logged by the controller), e.g. an old Ray without auth. */
  notes?: string[];
  /** Resolves once the runtime on this node is up and usable; rejects if it fails to start. */
  ready: Promise<void>;
  /** Resolves when the runtime exits on its own (a crash, unless stop() was called first). */
  exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    expected: boolean /** what the runtime said about it */;
    detail?: string;
  }>;
  /** Stops this job's runtime processes only (never a bare `ray stop`): TERM, grace, KILL. */
  stop(graceMs: number): Promise<void>;
  /**
   * Shrink: ask the runtime to drain this node (no new work; it leaves once idle). Resolves with
   * what the runtime said once the node is idle and left; rejects when refused or still busy at the
   * deadline; absent: the runtime has no drain of its own.
   */
  drain?(deadlineSec: number, reason: string): Promise<string | undefined>;
}

export interface RuntimeAdapter extends RuntimeHalves {
  name: RuntimeName;
  /**
   * The runtime binds wildcard addresses (0.0.0.0) whatever its node address: agents probe the
   * wildcard, and nodes that share one port space (the local launcher) each get their own ports.
   */
  bindsWildcard?: boolean;
  // The port layout of each runtime lives in src/core/ports.ts (pure, documented in one place).
  /** --preflight: the executable this runtime starts on a node, or why it is not there (no process is started). */
  locate?(env: NodeJS.ProcessEnv): { found?: string; problem?: string };
  start(ctx: RuntimeNodeContext): Promise<RuntimeProcess>;
  /**
   * Directories a node's runtime creates outside its scratch dir (Ray: a short temp dir when the
   * scratch path is too long for unix sockets), for a sweep when its agent could not remove them.
   */
  dirsOutsideScratch?(node: { jobId: string; nodeName: string; scratchDir: string }): string[];
  /**
   * --max-nodes: starts reading the runtime's waiting work where the runtime keeps it (Ray: its
   * GCS); the builtin runtime's controller half answers demand() instead. `env` is the
   * entrypoint's (the runtime's address and auth); `nodeOf` names the node at an address;
   * `shapeAddress` is the address of the node whose resources are the job's shape.
   */
  demandReader?(ctx: DemandReaderContext): DemandReader;
  /** Extra environment the entrypoint sees, e.g. RAY_ADDRESS for ray. */
  entrypointEnv(head: {
    address: string;
    portBase: number;
    layout: PortLayout;
    rayAuth: RayAuth;
    tokenFile: string;
    jobDir: string;
  }): Record<string, string | undefined>;
  // (undefined: remove the variable from what the entrypoint inherits)
}

/**
 * A runtime's two halves beyond starting daemons (the builtin runtime's scheduler, KV store and
 * command execution live here, not in the controller or the agent). The controller and the agent
 * carry the halves' messages without reading them: on the agent channel they travel as
 * `{ t: 'rt', body }` and each half validates its own bodies.
 */
export interface ControllerHalfContext {
  jobId: string;
  log: (line: string) => void;
  /** Sends a runtime message to one node's agent half; false when that node has no live channel. */
  send(node: string, body: unknown): boolean;
  /** The job's port layout and the block's base (a node's ports are base + offset on Slurm). */
  layout: PortLayout;
  portBase(node: string): number;
  /** File that collects every task's output, prefixed with its id and node (the job's task log). */
  taskLog?: string;
  /** --max-nodes: the cluster may grow to this many nodes (work that fits only then waits instead of being refused). */
  maxNodes?: number;
}

export interface DemandReaderContext {
  env: NodeJS.ProcessEnv;
  nodeOf: (address: string) => string | undefined;
  shapeAddress: () => string | undefined;
  log: (line: string) => void;
}

export interface DemandReader {
  /** The newest reading; undefined before the first or while the runtime does not answer. */
  read(): DemandView | undefined;
  close(): Promise<void>;
}

/** What autoscaling reads from a runtime: the work that waits (its wait is tracked by the reader) and each node's use. */
export interface DemandView {
  pending: Array<Omit<PendingWork, 'waitedMs'>>;
  /** By raysl node name; idleMs when the runtime tracks idle time itself (Ray), else idle is tracked by the reader. */
  nodes: Array<{ name: string; free: Resources; idle: boolean; idleMs?: number }>;
  /** What one node of the job's shape brings, once known (a joined worker of the allocation, else the head). */
  shape?: Resources;
}

export interface JoinedNode {
  name: string;
  role: 'head' | 'worker';
  address: string;
  hostname: string;
  cpus: number;
  gpus: number;
  memoryMb?: number;
  gpuIds: string[];
  custom?: Record<string, number>;
}

export interface ControllerHalf {
  /**
   * Serves one authenticated request of the control server (the token is checked already);
   * resolves false when the route is not this runtime's (the server answers 404 then).
   */
  handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, url: URL): Promise<boolean>;
  onJoin(node: JoinedNode): void;
  /** A joined node's agent or runtime is gone: fail or retry what ran there. */
  onLoss(node: string, reason: string): void;
  /** A runtime message from one node's agent half. */
  onMessage(node: string, body: unknown): void;
  /**
   * Shrink: place nothing new on `node`; resolves once nothing of the job's work is left there
   * (its tasks ended, its placement groups removed). The caller bounds the wait, then calls onLoss.
   */
  drain?(node: string): Promise<void>;
  /** The job is ending: answer what is waiting, stop accepting work. */
  close(): Promise<void>;
  /** --max-nodes: the waiting work and the nodes' use, as the scheduler sees them now. */
  demand?(): DemandView;
}

export interface AgentHalfContext {
  nodeName: string;
  /** Sends a runtime message to the controller half. */
  send(body: unknown): void;
  /** Environment for the processes this half starts (the job's env plus the node's). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  portBase: number;
  layout: PortLayout;
  log: (line: string) => void;
}

export interface AgentHalf {
  onMessage(body: unknown): void;
  /** Stops everything this half started on the node: TERM, grace, KILL. */
  stop(graceMs: number): Promise<void>;
}

/** Optional halves of a runtime adapter (Ray has none: Ray's own head does this work). */
export interface RuntimeHalves {
  controllerHalf?(ctx: ControllerHalfContext): ControllerHalf;
  agentHalf?(ctx: AgentHalfContext): AgentHalf;
}
