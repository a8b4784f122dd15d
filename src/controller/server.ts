/**
 * The control server: one HTTP server on the head's address and the block's controller port.
 * Every request needs the job's token (401 otherwise, upgrades included). Routes: protocol/api.ts
 * (the job's own: info, nodes; the rest come from the runtime's controller half).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { AGENT_UPGRADE } from '../protocol/agent.js';
import { API_VERSION, type Info } from '../protocol/api.js';
import { HttpError, sendError, sendJson } from '../protocol/http.js';
import type { ControllerHalf } from '../runtimes/types.js';
import { tokenMatches } from '../jobdir/token.js';
import type { AgentRegistry } from './agents.js';
import { handleElastic } from './elastic-routes.js';
import type { Satellites } from './satellites.js';

export interface ControlServerDeps {
  token: string;
  info: Info;
  agents: AgentRegistry;
  /** The runtime's routes (the builtin runtime's tasks, groups, KV); none for Ray. */
  half?: ControllerHalf;
  /** A cluster from `raysl up` (no entrypoint): POST /v1/exec is served once it holds. */
  holds: boolean;
  /** Grow and shrink (elastic-routes.ts); the satellites exist once the probe phase does. */
  elastic?: () => Satellites | undefined;
}

const EXEC_STDIN = /^\/v1\/exec\/\d+\/stdin$/;

/** Serves POST /v1/exec and /v1/exec/<id>/stdin (controller/exec.ts); answers false for any other route. */
export interface ExecRoute {
  handle(req: IncomingMessage, res: import('node:http').ServerResponse, url: URL): Promise<boolean>;
}

export interface ControlServer {
  server: Server;
  /** Stops listening and drops every connection (agents are told to stop before this). */
  close(): Promise<void>;
  /** From now on POST /v1/exec runs commands (hold.ts, once the cluster formed). */
  serveExec(route: ExecRoute): void;
}

export function createControlServer(deps: ControlServerDeps): ControlServer {
  const sockets = new Set<Socket>();
  let exec: ExecRoute | undefined;
  const handle = async (req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://raysl');
    const path = url.pathname;
    if (path === '/v1/info' && req.method === 'GET') return sendJson(res, 200, deps.info);
    if (path === '/v1/nodes' && req.method === 'GET') return sendJson(res, 200, { nodes: deps.agents.joinedNodes() });
    if ((path === '/v1/exec' || EXEC_STDIN.test(path)) && req.method === 'POST') {
      if (exec) return void (await exec.handle(req, res, url));
      if (deps.holds)
        throw new HttpError(
          409,
          `job ${deps.info.jobId} is not ready for exec yet: its cluster is still forming`,
          'not-holding',
        );
      throw new HttpError(
        409,
        `job ${deps.info.jobId} runs its own entrypoint: exec needs a cluster started by raysl up`,
        'not-holding',
      );
    }
    if (deps.elastic && (await handleElastic(deps.elastic(), req, res, url))) return;
    if (deps.half && (await deps.half.handle(req, res, url))) return;
    throw new HttpError(
      404,
      `no route ${req.method} ${path} (API version ${API_VERSION}, runtime ${deps.info.runtime})`,
      'not-found',
    );
  };

  const server = createServer((req, res) => {
    if (!tokenMatches(req.headers.authorization, deps.token)) {
      sendJson(res, 401, { error: 'missing or wrong token', kind: 'unauthorized' });
      return;
    }
    handle(req, res).catch((err: unknown) => sendError(res, err));
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
    serveExec: (route) => {
      exec = route;
    },
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
