/** The builtin runtime's scheduler: Ray's resource model (fractional GPUs, placement groups), pure. */
export { Scheduler, type PendingDemand } from './scheduler.js';
export { taskRequest, CPU_UNIT, SHARE_UNIT } from './units.js';
export { MAX_BUNDLES, SEARCH_STEP_BUDGET } from './placement.js';
export type { Decision, Grant, GroupResult, NodeCapacity, ResourceRequest, Strategy, SubmitResult, Target, Totals } from './types.js';
export { STRATEGIES } from './types.js';
