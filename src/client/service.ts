/**
 * A service: a long-running command (a server, a trainer's rank, an inference engine) with a port
 * of its own from the job's block ($RAYSL_SERVICE_PORT on $RAYSL_NODE_ADDRESS). spawn() resolves
 * once it runs; it lives as long as its stream, so stop() (or close(), or the job ending) ends it.
 */
import type { TaskEvent, TaskRequest, TaskResult } from '../protocol/api.js';
import { RayslClientError } from './errors.js';
import { follow } from './follow.js';
import { describeArgv, type RunOptions } from './options.js';
import type { Transport } from './transport.js';

/** Output kept for output(): the newest this many characters (a chatty server must not fill memory). */
const SERVICE_OUTPUT_CAP = 256 * 1024;
/** How long stop() lets the command exit on TERM before KILL, unless told. */
const DEFAULT_STOP_GRACE_MS = 5_000;

export interface Service {
  readonly id: string;
  readonly node: string;
  readonly address: string;
  readonly port: number | undefined;
  readonly gpuIds: string[];
  /** http://address:port when the service has a port. */
  readonly url: string | undefined;
  /** stdout and stderr as they arrived so far (the newest SERVICE_OUTPUT_CAP characters). */
  output(): string;
  /** TERM its process group, KILL after graceMs; resolves with how it ended. */
  stop(graceMs?: number): Promise<TaskResult>;
  /** Settles when the command ends, however it ends (rejects on node loss, cancel, ...). */
  readonly exited: Promise<TaskResult>;
}

export function spawnService(transport: Transport, request: TaskRequest, o: RunOptions): Promise<Service> {
  let id: string | undefined;
  let gpuIds: string[] = [];
  let output = '';
  let dropped = 0;
  let onStarted: (ev: Extract<TaskEvent, { e: 'started' }>) => void = () => undefined;
  let onEndedEarly: (err: unknown) => void = () => undefined;
  const started = new Promise<Extract<TaskEvent, { e: 'started' }>>((resolve, reject) => {
    onStarted = resolve;
    onEndedEarly = reject;
  });

  const exited = follow(transport, '/v1/services', request, {
    signal: o.signal,
    onEvent: (ev) => {
      if (ev.e === 'accepted') id = ev.id;
      else if (ev.e === 'placed') gpuIds = ev.gpuIds;
      else if (ev.e === 'output') {
        output += ev.data;
        if (output.length > SERVICE_OUTPUT_CAP) {
          dropped += output.length - SERVICE_OUTPUT_CAP;
          output = output.slice(-SERVICE_OUTPUT_CAP);
        }
        o.onOutput?.(ev.data, ev.stream);
      } else if (ev.e === 'started') {
        if (id === undefined)
          throw new RayslClientError(
            `${describeArgv(request.argv)}: the server sent 'started' before 'accepted' (no service id)`,
            undefined,
            'protocol',
          );
        onStarted(ev);
      }
      o.onEvent?.(ev);
    },
  });
  // Whoever holds the service may never look at exited; its outcome is theirs to read, not a crash.
  let ended = false;
  exited.then(
    () => (ended = true),
    () => (ended = true),
  );
  exited.then(
    (r) =>
      onEndedEarly(
        new RayslClientError(
          `${describeArgv(request.argv)}: the service exited (${r.signal ?? `code ${r.exitCode}`}) before it started: ${r.stderr.trim().slice(-300) || 'no output'}`,
          undefined,
          'service-exited',
        ),
      ),
    onEndedEarly,
  );

  return started.then((s) => {
    const serviceId = id as string;
    let stopping: Promise<TaskResult> | undefined;
    return {
      id: serviceId,
      node: s.node,
      address: s.address,
      port: s.port,
      gpuIds,
      url: s.port === undefined ? undefined : `http://${s.address}:${s.port}`,
      output: () => (dropped > 0 ? `[... ${dropped} characters dropped]\n` : '') + output,
      stop: (graceMs = DEFAULT_STOP_GRACE_MS) => {
        stopping ??= (async () => {
          if (!ended)
            await transport.call(
              'DELETE',
              `/v1/services/${encodeURIComponent(serviceId)}?graceMs=${Math.max(0, Math.round(graceMs))}`,
              { allowNotFound: true },
            );
          return exited;
        })();
        return stopping;
      },
      exited,
    };
  });
}
