/**
 * The runtime adapter interface: what an agent needs to bring a runtime up on its node and
 * take it down again. Implementations: builtin/ (the agents form the cluster) and ray.ts.
 */
import type { NodeResources, PortLayout, RuntimeName } from '../core/types.js';

export interface RuntimeNodeContext {
  jobId: string;
  role: 'head' | 'worker';
  /** Slurm node name (or simulated name under the local launcher). */
  nodeName: string;
  /** Address this node's runtime binds (never 0.0.0.0). */
  address: string;
  /** Interface the user named (--iface ib0); the runtime binds its address instead of `address`. */
  iface?: string;
  /** Head's address and the job's port block base (same block on every node). */
  headAddress: string;
  portBase: number;
  layout: PortLayout;
  resources: NodeResources;
  /** Per-job, per-node scratch directory on node-local disk (the runtime's temp dir lives here). */
  scratchDir: string;
  /** Environment for processes the runtime starts. */
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export interface RuntimeProcess {
  /** Address the runtime actually binds (the --iface address when one was named); default ctx.address. */
  address?: string;
  /** Resolves once the runtime on this node is up and usable; rejects if it fails to start. */
  ready: Promise<void>;
  /** Resolves when the runtime exits on its own (a crash, unless stop() was called first). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; expected: boolean }>;
  /** Stops this job's runtime processes only (never a bare `ray stop`): TERM, grace, KILL. */
  stop(graceMs: number): Promise<void>;
}

export interface RuntimeAdapter {
  name: RuntimeName;
  /**
   * Workers start only once the head is up, and are told the address the head really bound
   * (Ray: a worker's `ray start --address` needs the head's GCS, which may sit on --iface's address).
   */
  workersAfterHead?: boolean;
  // The port layout of each runtime lives in src/core/ports.ts (pure, documented in one place).
  start(ctx: RuntimeNodeContext): Promise<RuntimeProcess>;
  /** Extra environment the entrypoint sees, e.g. RAY_ADDRESS for ray. */
  entrypointEnv(head: { address: string; portBase: number; layout: PortLayout }): Record<string, string>;
}
