/**
 * How the control server's contracts travel over HTTP: JSON bodies with a size cap, errors as
 * { error, kind }, and NDJSON streams for tasks and services. Shared by the control server and
 * the runtime halves that add routes to it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorKind } from './api.js';

const MAX_BODY = 16 * 1024 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly kind?: ErrorKind,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const status = err instanceof HttpError ? err.status : 500;
  const kind = err instanceof HttpError ? err.kind : undefined;
  if (!res.headersSent) sendJson(res, status, { error: (err as Error).message, ...(kind ? { kind } : {}) });
  else res.destroy();
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`, 'bad-request');
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new HttpError(400, 'request body is not JSON', 'bad-request');
  }
}

/** An NDJSON response: one event per line, flushed as written; `closed` when the caller goes away. */
export interface EventStream<E> {
  send(event: E): void;
  end(event?: E): void;
  /** True once the caller closed the connection before end(). */
  readonly aborted: boolean;
  onAbort(fn: () => void): void;
}

export function openEventStream<E>(res: ServerResponse): EventStream<E> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
  let ended = false;
  let aborted = false;
  const abortFns: Array<() => void> = [];
  res.on('close', () => {
    if (ended) return;
    aborted = true;
    for (const fn of abortFns) fn();
  });
  return {
    send: (e) => {
      if (!ended && !aborted) res.write(JSON.stringify(e) + '\n');
    },
    end: (e) => {
      if (ended) return;
      if (e !== undefined && !aborted) res.write(JSON.stringify(e) + '\n');
      ended = true;
      res.end();
    },
    get aborted() {
      return aborted;
    },
    onAbort: (fn) => abortFns.push(fn),
  };
}

/**
 * One JSON request to a control server (`raysl grow|shrink`, a satellite's batch step): the token
 * in the Authorization header, the answer's status and parsed body (null when not JSON). Rejects
 * only when the server cannot be reached or the answer does not come within timeoutMs.
 */
export async function requestJson(
  address: string,
  token: string,
  method: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:http');
  const colon = address.lastIndexOf(':');
  const text = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address.slice(0, colon),
        port: Number(address.slice(colon + 1)),
        method,
        path,
        timeout: timeoutMs,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        },
      },
      (res) => {
        let got = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (got += c));
        res.on('end', () => {
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(got);
          } catch {
            parsed = null;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${(timeoutMs / 1000).toFixed(0)} s`)));
    req.on('error', reject);
    req.end(text);
  });
}
