/**
 * The control server: one HTTP server on the head's address and the block's controller port.
 * Every request needs the job's token (401 otherwise, upgrades included). Routes: protocol.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AGENT_UPGRADE, KV_KEY, PROTOCOL_VERSION, aggregateResources, type Info, type RunRequest } from './protocol.js';
import { tokenMatches } from './token.js';
import { NodeGoneError, type AgentRegistry } from './agents.js';
import type { KvStore } from '../runtimes/builtin/kv.js';

const MAX_BODY = 16 * 1024 * 1024;
/** Longest a KV get may block (the client re-asks for longer waits). */
const MAX_KV_WAIT_MS = 60_000;

export interface ControlServerDeps {
  token: string;
  info: Info;
  agents: AgentRegistry;
  kv: KvStore;
}

export interface ControlServer {
  server: Server;
  /** Stops listening and drops every connection (agents are told to stop before this). */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

function parseRunRequest(x: unknown): RunRequest {
  const r = x as Partial<RunRequest> | null;
  if (!r || typeof r.node !== 'string' || !Array.isArray(r.argv) || r.argv.length === 0 || !r.argv.every((a) => typeof a === 'string')) {
    throw new HttpError(400, 'expected {"node": string, "argv": [string, ...]}');
  }
  return r as RunRequest;
}

export function createControlServer(deps: ControlServerDeps): ControlServer {
  const sockets = new Set<Socket>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://raysl');
    const path = url.pathname;
    if (path === '/v1/info' && req.method === 'GET') return sendJson(res, 200, deps.info);
    if (path === '/v1/nodes' && req.method === 'GET') return sendJson(res, 200, { nodes: deps.agents.joinedNodes() });
    if (path === '/v1/resources' && req.method === 'GET') return sendJson(res, 200, aggregateResources(deps.agents.joinedNodes()));
    if (path.startsWith('/v1/kv/')) {
      const key = decodeURIComponent(path.slice('/v1/kv/'.length));
      if (!KV_KEY.test(key)) throw new HttpError(400, `bad key ${JSON.stringify(key)}: use 1-256 of A-Z a-z 0-9 . _ : / -`);
      if (req.method === 'PUT') {
        const body = (await readJson(req)) as { value?: unknown } | null;
        if (!body || typeof body.value !== 'string') throw new HttpError(400, 'expected {"value": string}');
        deps.kv.put(key, body.value);
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'GET') {
        const waitMs = Math.min(MAX_KV_WAIT_MS, Math.max(0, Number(url.searchParams.get('waitMs') ?? 0) || 0));
        const value = await deps.kv.get(key, waitMs);
        return value === undefined ? sendJson(res, 404, { error: `no key ${key}` }) : sendJson(res, 200, { value });
      }
    }
    if (path === '/v1/run' && req.method === 'POST') {
      const runReq = parseRunRequest(await readJson(req));
      if (!deps.agents.joinedNodes().some((n) => n.name === runReq.node)) {
        throw new HttpError(404, `no joined node named ${runReq.node} (joined: ${deps.agents.joinedNodes().map((n) => n.name).join(', ') || 'none'})`);
      }
      try {
        return sendJson(res, 200, await deps.agents.run(runReq));
      } catch (err) {
        if (err instanceof NodeGoneError) throw new HttpError(502, err.message);
        throw err;
      }
    }
    throw new HttpError(404, `no route ${req.method} ${path} (protocol ${PROTOCOL_VERSION})`);
  };

  const server = createServer((req, res) => {
    if (!tokenMatches(req.headers.authorization, deps.token)) {
      sendJson(res, 401, { error: 'missing or wrong token' });
      return;
    }
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: (err as Error).message });
      else res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    if (!tokenMatches(req.headers.authorization, deps.token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (req.url !== '/v1/agent' || String(req.headers.upgrade ?? '').toLowerCase() !== AGENT_UPGRADE) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${AGENT_UPGRADE}\r\nConnection: Upgrade\r\n\r\n`);
    deps.agents.attach(socket);
  });
  // requests are short except KV waits and runs; keep-alive sockets must not hold close() open
  server.keepAliveTimeout = 5_000;
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Listens on host:port; rejects with the errno (EADDRINUSE means: try the next block). */
export function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
