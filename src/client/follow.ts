/**
 * Follows one task's or service's event stream to its end: a 'result' event resolves (a non-zero
 * exit is a result, not an error), an 'error' event rejects with its typed error, a stream that
 * ends with neither rejects saying so.
 */
import type { TaskEvent, TaskRequest, TaskResult } from '../protocol/api.js';
import { errorForKind, RayslClientError } from './errors.js';
import { describeArgv } from './options.js';
import type { Transport } from './transport.js';

export interface FollowOptions {
  signal?: AbortSignal | undefined;
  /** Sees every event before it is acted on; a throw cancels the task and rejects with what was thrown. */
  onEvent?: (ev: TaskEvent) => void;
}

export function follow(
  transport: Transport,
  path: '/v1/tasks' | '/v1/services',
  request: TaskRequest,
  o: FollowOptions,
): Promise<TaskResult> {
  const command = describeArgv(request.argv);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (!settled) {
        settled = true;
        f();
      }
    };
    const close = transport.openStream(
      path,
      request,
      {
        event: (ev) => {
          if (settled) return;
          try {
            o.onEvent?.(ev);
          } catch (e) {
            settle(() => reject(e));
            close();
            return;
          }
          if (ev.e === 'result') settle(() => resolve(ev.result));
          else if (ev.e === 'error')
            settle(() => reject(errorForKind(ev.kind, `${command}: ${ev.message}`, undefined)));
        },
        end: () =>
          settle(() =>
            reject(
              new RayslClientError(
                `${command}: the control server closed the stream without a result: the job is ending?`,
                undefined,
                'transport',
              ),
            ),
          ),
        fail: (err) => {
          err.message = `${command}: ${err.message}`;
          settle(() => reject(err));
        },
      },
      o.signal,
    );
  });
}
