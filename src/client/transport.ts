/**
 * HTTP to the job's control server: short JSON calls (a per-request timeout) and the long NDJSON
 * streams of tasks and services (no timeout: a task may run for days; TCP keep-alive notices a
 * vanished head). Every request carries the job's token. Errors become the typed errors of
 * errors.ts; stream events are validated against the contract before anyone sees them.
 */
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { errorBodySchema, parseTaskEvent, type TaskEvent } from '../protocol/api.js';
import { LineDecoder, splitAddress } from '../protocol/wire.js';
import { CancelledError, errorForKind, RayslClientError } from './errors.js';

export interface CallOptions {
  body?: unknown;
  /** Socket timeout for this call (default: the client's timeoutMs). */
  timeoutMs?: number;
  /** Resolve a 404 as a status instead of rejecting (kv gets, deletes of what is already gone). */
  allowNotFound?: boolean;
}

export interface StreamSink {
  event(ev: TaskEvent): void;
  /** The server ended the response (after whatever events it sent). */
  end(): void;
  fail(err: RayslClientError): void;
}

/** Seconds of silence on a stream's socket before TCP probes the head (it may be gone). */
const STREAM_KEEPALIVE_MS = 15_000;

export class Transport {
  private readonly host: string;
  private readonly port: number;
  // Sockets unbounded: streams and waiting gets each hold one for as long as they last, and a
  // short call must never queue behind them.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 8 });
  /** How to cancel each open stream (close() cancels them all). */
  private readonly streams = new Set<() => void>();
  private closed = false;

  constructor(
    readonly address: string,
    private readonly token: string,
    readonly timeoutMs: number,
  ) {
    ({ host: this.host, port: this.port } = splitAddress(address));
  }

  call(method: string, path: string, o: CallOptions = {}): Promise<{ status: number; data: unknown }> {
    const timeout = o.timeoutMs ?? this.timeoutMs;
    const what = `${method} ${path}`;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new CancelledError(`${what}: the client was closed`));
      const req = this.open(method, path, o.body, timeout, (res) => {
        readBody(res).then((text) => {
          const status = res.statusCode ?? 0;
          if (status < 400 || (status === 404 && o.allowNotFound)) {
            const data = parseJson(text);
            if (data === undefined && text !== '')
              return reject(
                new RayslClientError(
                  `${what}: the server answered ${status} with a body that is not JSON: ${text.slice(0, 120)}`,
                  status,
                  'protocol',
                ),
              );
            return resolve({ status, data });
          }
          reject(errorFromBody(what, status, text));
        }, reject);
      });
      req.on('timeout', () =>
        req.destroy(
          new RayslClientError(`${what}: no answer from ${this.address} within ${timeout} ms`, undefined, 'transport'),
        ),
      );
      req.on('error', (e) =>
        reject(
          e instanceof RayslClientError
            ? e
            : new RayslClientError(
                `${what}: ${e.message} (is the job still running at ${this.address}?)`,
                undefined,
                'transport',
              ),
        ),
      );
    });
  }

  /** POSTs body and feeds the NDJSON answer to sink; returns a function that closes the stream. */
  openStream(path: string, body: unknown, sink: StreamSink, signal?: AbortSignal): () => void {
    const what = `POST ${path}`;
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      this.streams.delete(onAbort);
      signal?.removeEventListener('abort', onAbort);
      f();
    };
    const onAbort = () => {
      finish(() => sink.fail(new CancelledError(`${what}: cancelled by the caller (the server stops the command)`)));
      req.destroy();
    };
    const req = this.open('POST', path, body, 0, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        readBody(res).then(
          (text) => finish(() => sink.fail(errorFromBody(what, status, text))),
          () => undefined,
        );
        return;
      }
      res.setEncoding('utf8'); // a character split across chunks stays whole
      const lines = new LineDecoder();
      res.on('data', (chunk: string) => {
        if (done) return;
        try {
          for (const msg of lines.push(chunk)) {
            sink.event(parseTaskEvent(msg));
            if (done) return;
          }
        } catch (e) {
          const sent = e instanceof SyntaxError ? `a line that is not JSON (${e.message})` : (e as Error).message;
          finish(() => sink.fail(new RayslClientError(`${what}: the server sent ${sent}`, status, 'protocol')));
          req.destroy();
        }
      });
      res.on('end', () => finish(() => sink.end()));
      const closedEarly = () =>
        finish(() =>
          sink.fail(
            new RayslClientError(
              `${what}: the control server closed the stream: the job is ending?`,
              undefined,
              'transport',
            ),
          ),
        );
      res.on('error', closedEarly);
      res.on('close', closedEarly);
    });
    req.on('socket', (s) => s.setKeepAlive(true, STREAM_KEEPALIVE_MS));
    req.on('error', (e) =>
      finish(() =>
        sink.fail(
          e instanceof RayslClientError
            ? e
            : new RayslClientError(
                `${what}: ${e.message} (is the job still running at ${this.address}?)`,
                undefined,
                'transport',
              ),
        ),
      ),
    );
    if (this.closed) queueMicrotask(onAbort);
    else this.streams.add(onAbort);
    if (signal?.aborted) queueMicrotask(onAbort);
    else signal?.addEventListener('abort', onAbort, { once: true });
    return () => {
      if (!done) onAbort();
    };
  }

  /** Ends every open stream (their commands are stopped by the server) and frees the sockets. */
  close(): void {
    this.closed = true;
    for (const cancel of [...this.streams]) cancel();
    this.agent.destroy();
  }

  private open(
    method: string,
    path: string,
    body: unknown,
    timeout: number,
    onResponse: (res: IncomingMessage) => void,
  ): ClientRequest {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: this.host,
        port: this.port,
        method,
        path,
        agent: this.agent,
        timeout,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      onResponse,
    );
    req.end(payload);
    return req;
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A non-2xx answer -> the typed error its kind (or status) names, with the server's words. */
function errorFromBody(what: string, status: number, text: string): RayslClientError {
  const parsed = errorBodySchema.safeParse(parseJson(text));
  const message = parsed.success ? parsed.data.error : text.trim().slice(0, 200) || '(no body)';
  const hint =
    status === 401
      ? " (RAYSL_TOKEN is not this job's token: run under `raysl run` or `raysl submit`, or pass { token })"
      : '';
  return errorForKind(parsed.success ? parsed.data.kind : undefined, `${what}: ${status} ${message}${hint}`, status);
}
