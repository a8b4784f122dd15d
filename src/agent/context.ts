/** What every phase of the agent shares: who it is, its edges, how it ends, what it must undo. */
import { hostname } from 'node:os';
import type { Ending } from './outcome.js';
import type { TeardownStack } from '../proc/teardown.js';

/** Faults a test injects into one agent (through src/cli/injected-faults.ts, the seam a test's preloaded module fills). */
export interface AgentFaults {
  /** Welcomed, then never reports a probe (a node the probe phase must not wait for forever). */
  silent?: boolean;
  /** Probes like the others (so the job can start), then never brings its runtime up. */
  neverJoin?: boolean;
}

export interface AgentContext {
  node: string;
  role: 'head' | 'worker';
  env: NodeJS.ProcessEnv;
  /** Where commands run when a request names no cwd. */
  cwd: string;
  graceMs: number;
  log: (line: string) => void;
  faults: AgentFaults;
  ending: Ending;
  teardown: TeardownStack;
}

/** The node's name: the one given, else Slurm's for this task, else the hostname. */
export function resolveNodeName(env: NodeJS.ProcessEnv, given?: string): string {
  return given ?? env.SLURMD_NODENAME ?? hostname();
}
