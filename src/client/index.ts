/**
 * The TypeScript client an entrypoint imports: `import { connect } from 'raysl'`.
 * Talks to the job's control server (protocol.ts, version 1) with the job's token; both come
 * from the environment the controller gives the entrypoint (RAYSL_ADDRESS, RAYSL_TOKEN).
 */
import { Agent, request } from 'node:http';
import {
  ADDRESS_ENV,
  PROTOCOL_VERSION,
  TOKEN_ENV,
  splitAddress,
  type Info,
  type NodeInfo,
  type Resources,
  type RunResult,
} from '../controller/protocol.js';

export type { Info, NodeInfo, Resources, RunResult };
// typeof guard: under tsx or vitest the bundler define may be absent
export const clientVersion: string = typeof RAYSL_VERSION === "string" ? RAYSL_VERSION : "dev";
export { PROTOCOL_VERSION };

export interface ConnectOptions {
  /** host:port of the control server (default: $RAYSL_ADDRESS). */
  address?: string;
  /** The job's token (default: $RAYSL_TOKEN). */
  token?: string;
  /** Per-request timeout in ms, except run() and waiting kv gets (default 30000). */
  timeoutMs?: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command (its whole process group) after this many ms. */
  timeoutMs?: number;
}

export interface Client {
  readonly address: string;
  readonly info: Info;
  /** Joined nodes, head first in join order. */
  nodes(): Promise<NodeInfo[]>;
  /** Sum of the joined nodes' resources. */
  resources(): Promise<Resources>;
  kv: {
    put(key: string, value: string): Promise<void>;
    /** The value, or undefined; waitMs blocks until another process puts the key (rendezvous). */
    get(key: string, opts?: { waitMs?: number }): Promise<string | undefined>;
  };
  /** Runs argv on a node; resolves with its output and exit code (a non-zero exit is not an error). */
  run(node: string, argv: string[], opts?: RunOptions): Promise<RunResult>;
  close(): void;
}

/** A failed request: status is the HTTP status (401 wrong token, 404 unknown node, 502 node lost). */
export class RayslClientError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'RayslClientError';
  }
}

const KV_WAIT_SLICE_MS = 55_000;

export async function connect(opts: ConnectOptions = {}): Promise<Client> {
  const address = opts.address ?? process.env[ADDRESS_ENV];
  const token = opts.token ?? process.env[TOKEN_ENV];
  if (!address || !token) {
    throw new RayslClientError(`connect() needs ${ADDRESS_ENV} and ${TOKEN_ENV} (run this under \`raysl run\` or \`raysl submit\`), or pass { address, token }`, undefined);
  }
  const { host, port } = splitAddress(address);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const timeoutMs = opts.timeoutMs ?? 30_000;

  const call = <T>(method: string, path: string, body?: unknown, reqTimeout: number = timeoutMs): Promise<{ status: number; data: T }> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host,
          port,
          method,
          path,
          agent,
          timeout: reqTimeout,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let data: unknown = undefined;
            try {
              data = text ? JSON.parse(text) : undefined;
            } catch {
              data = text;
            }
            const status = res.statusCode ?? 0;
            if (status >= 400 && status !== 404) {
              const msg = (data as { error?: string } | undefined)?.error ?? text;
              reject(new RayslClientError(`${method} ${path}: ${status} ${msg}`, status));
            } else resolve({ status, data: data as T });
          });
        },
      );
      req.on('timeout', () => req.destroy(new RayslClientError(`${method} ${path}: no answer from ${address} within ${reqTimeout} ms`, undefined)));
      req.on('error', (e) => reject(e instanceof RayslClientError ? e : new RayslClientError(`${method} ${path}: ${e.message}`, undefined)));
      req.end(payload);
    });

  const ok = <T>(r: { status: number; data: T }, what: string): T => {
    if (r.status === 404) throw new RayslClientError(`${what}: ${(r.data as { error?: string } | undefined)?.error ?? 'not found'}`, 404);
    return r.data;
  };

  const info = ok(await call<Info>('GET', '/v1/info'), 'info');
  if (info.protocol !== PROTOCOL_VERSION) {
    agent.destroy();
    throw new RayslClientError(`the controller speaks protocol ${info.protocol}, this client ${PROTOCOL_VERSION}`, undefined);
  }
  const kvPath = (key: string) => `/v1/kv/${encodeURIComponent(key)}`;

  return {
    address,
    info,
    nodes: async () => ok(await call<{ nodes: NodeInfo[] }>('GET', '/v1/nodes'), 'nodes').nodes,
    resources: async () => ok(await call<Resources>('GET', '/v1/resources'), 'resources'),
    kv: {
      put: async (key, value) => {
        await call('PUT', kvPath(key), { value });
      },
      get: async (key, o = {}) => {
        // long waits are cut into slices the server accepts; each slice is itself event-driven
        let left = o.waitMs ?? 0;
        for (;;) {
          const slice = Math.min(left, KV_WAIT_SLICE_MS);
          const r = await call<{ value: string }>('GET', `${kvPath(key)}?waitMs=${slice}`, undefined, timeoutMs + slice);
          if (r.status !== 404) return r.data.value;
          left -= slice;
          if (left <= 0) return undefined;
        }
      },
    },
    run: async (node, argv, o = {}) => {
      const r = await call<RunResult>('POST', '/v1/run', { node, argv, ...o }, 0);
      return ok(r, `run on ${node}`);
    },
    close: () => agent.destroy(),
  };
}
