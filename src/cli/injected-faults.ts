/**
 * The seam through which a test injects faults into the raysl processes of a job: the CLI it
 * starts, and the controller and agents that CLI (or sbatch, or srun) starts in turn. A test
 * preloads a module with `node --import` through NODE_OPTIONS, which every one of those processes
 * inherits; the module sets `globalThis[Symbol.for('raysl.injectedFaults')]` to an InjectedFaults.
 * Production never sets it, and nothing here reads the environment: the test switches and their
 * names live in the test tree (test/support/fault-preload.mjs).
 */
import type { AgentFaults } from '../agent/context.js';
import type { ControllerEdges, ControllerFaults } from '../controller/edges.js';

export interface InjectedFaults {
  /** Faults of the controller (`raysl controller`, or `run --local`'s own). */
  controller?: ControllerFaults;
  /** The TERM -> KILL grace, so a test can tell a KILL that came early (a second signal) from one at the grace. */
  graceMs?: number;
  /** Faults of the agent of each named node. */
  agents?: Readonly<Record<string, AgentFaults>>;
}

const KEY = Symbol.for('raysl.injectedFaults');

/** What a preloaded test module injected; nothing (`{}`) in production. */
export function injectedFaults(): InjectedFaults {
  const injected = (globalThis as Record<symbol, unknown>)[KEY];
  return typeof injected === 'object' && injected !== null ? (injected as InjectedFaults) : {};
}

/** The controller's faults and grace a test injected, as its edges take them; nothing in production. */
export function controllerFaults(): Pick<ControllerEdges, 'faults' | 'graceMs'> {
  const { controller, graceMs } = injectedFaults();
  return { ...(controller ? { faults: controller } : {}), ...(graceMs !== undefined ? { graceMs } : {}) };
}
