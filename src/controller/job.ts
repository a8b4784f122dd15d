/** What every phase of one job shares: the plan, the edges, the allocation and the job's stop and teardown. */
import type { Plan } from '../core/types.js';
import type { RuntimeAdapter } from '../runtimes/types.js';
import type { Allocation } from './allocate.js';
import type { ControllerEdges } from './edges.js';
import type { ProgressLog } from './log.js';
import type { StopRequest } from './stop.js';
import type { TeardownStack } from '../proc/teardown.js';

export interface Job extends Allocation {
  plan: Plan;
  edges: ControllerEdges;
  runtime: RuntimeAdapter;
  log: ProgressLog;
  /** When the controller started (edges.now()). */
  t0: number;
  /** TERM -> KILL grace for the entrypoint and agents. */
  graceMs: number;
  stop: StopRequest;
  /** Slurm's restart count of this run (SLURM_RESTART_COUNT, 0 for the first): the entrypoint sees it as RAYSL_RESTART_COUNT. */
  attempt: number;
  teardown: TeardownStack;
}
