/**
 * The runtime adapter interface: what an agent needs to bring a runtime up on its node and
 * take it down again. Implementations: builtin/ (the agents form the cluster) and ray.ts.
 */
import type { NodeResources, PortLayout, RayAuth, RuntimeName } from '../core/types.js';

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
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; expected: boolean; /** what the runtime said about it */ detail?: string }>;
  /** Stops this job's runtime processes only (never a bare `ray stop`): TERM, grace, KILL. */
  stop(graceMs: number): Promise<void>;
}

export interface RuntimeAdapter {
  name: RuntimeName;
  /**
   * The runtime binds wildcard addresses (0.0.0.0) whatever its node address: agents probe the
   * wildcard, and nodes that share one port space (the local launcher) each get their own ports.
   */
  bindsWildcard?: boolean;
  // The port layout of each runtime lives in src/core/ports.ts (pure, documented in one place).
  start(ctx: RuntimeNodeContext): Promise<RuntimeProcess>;
  /**
   * Directories a node's runtime creates outside its scratch dir (Ray: a short temp dir when the
   * scratch path is too long for unix sockets), for a sweep when its agent could not remove them.
   */
  dirsOutsideScratch?(node: { jobId: string; nodeName: string; scratchDir: string }): string[];
  /** Extra environment the entrypoint sees, e.g. RAY_ADDRESS for ray. */
  entrypointEnv(head: { address: string; portBase: number; layout: PortLayout; rayAuth: RayAuth; tokenFile: string }): Record<string, string | undefined>;
  // (undefined: remove the variable from what the entrypoint inherits)
}
