/** run/spawn options as a caller writes them -> the wire's TaskRequest, checked before it leaves. */
import { parseTaskRequest, type TaskEvent, type TaskRequest } from '../protocol/api.js';
import { RayslClientError, usageError } from './errors.js';
import { PlacementGroup } from './placement-group.js';
import { taskResources, type RayslResources, type Resources } from './resources.js';

export interface RunOptions extends RayslResources {
  /** More resources by name, or the whole request in Ray's spelling: { GPU: 1, trainer: 1 }. */
  resources?: Resources;
  /** Run on this node only. */
  node?: string;
  /** Run inside this group's reservation (a PlacementGroup or its id). */
  placementGroup?: PlacementGroup | string;
  /** Which bundle of the group (default: any that fits). */
  bundle?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command's process group after this long (the result says timedOut). */
  timeoutMs?: number;
  /** Reject with PendingTimeoutError if it is not placed within this long. */
  pendingTimeoutMs?: number;
  /** Run again elsewhere when its node is lost (and on a non-zero exit with retryOnFailure). */
  maxRetries?: number;
  retryOnFailure?: boolean;
  /** Aborting closes the stream: the server kills the command's process group; the call rejects with CancelledError. */
  signal?: AbortSignal;
  /** Called with each chunk of output as the command writes it. */
  onOutput?: (data: string, stream: 'stdout' | 'stderr') => void;
  /** Called with every event of the task's stream (accepted, pending, placed, retry, ...). */
  onEvent?: (ev: TaskEvent) => void;
}

/** Short name of a command for messages: `python3 eval.py 3`. */
export function describeArgv(argv: readonly string[]): string {
  const s = argv.join(' ');
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export async function buildTaskRequest(argv: unknown, o: RunOptions, where: string): Promise<TaskRequest> {
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw usageError(
      `${where}: argv must be a non-empty array of strings, got ${JSON.stringify(argv)}`,
      "e.g. run(['python3', 'eval.py']); for a shell line use ['sh', '-c', '...']",
    );
  }
  if (o.bundle !== undefined && o.placementGroup === undefined) {
    throw usageError(
      `${where}: bundle ${o.bundle} is given without a placementGroup`,
      'pass { placementGroup: pg, bundle }',
    );
  }
  const placementGroup =
    o.placementGroup instanceof PlacementGroup ? await o.placementGroup.whenCreated() : o.placementGroup;
  const resources = taskResources(o, where);
  const req: Record<string, unknown> = {
    argv,
    resources,
    node: o.node,
    placementGroup,
    bundle: o.bundle,
    env: o.env,
    cwd: o.cwd,
    timeoutMs: o.timeoutMs,
    pendingTimeoutMs: o.pendingTimeoutMs,
    maxRetries: o.maxRetries,
    retryOnFailure: o.retryOnFailure,
  };
  for (const k of Object.keys(req)) if (req[k] === undefined) delete req[k];
  try {
    return parseTaskRequest(req);
  } catch (e) {
    throw new RayslClientError(`${where}: ${(e as Error).message}`, undefined, 'usage');
  }
}
