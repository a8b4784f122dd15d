/** The builtin runtime's scheduler: Ray's resource model (fractional GPUs, placement groups), pure. */
export { Scheduler } from './scheduler.js';
export { taskRequest } from './units.js';
export type { Decision, Grant, NodeCapacity, ResourceRequest, Strategy, Target } from './types.js';
export { STRATEGIES } from './types.js';
