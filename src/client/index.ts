/**
 * The TypeScript client an entrypoint imports: `import { connect } from 'raysl'`.
 * Speaks the client API (protocol/api.ts, API_VERSION) to the job's control server with the
 * job's token; both come from the environment the controller gives the entrypoint
 * (RAYSL_ADDRESS, RAYSL_TOKEN).
 */
import { ADDRESS_ENV, TOKEN_ENV, TOKEN_FILE_ENV } from '../core/env-names.js';
import { tokenFromEnv } from './token-file.js';
import {
  API_VERSION,
  infoSchema,
  KV_KEY,
  nodesSchema,
  strategySchema,
  totalsSchema,
  type GroupState,
  type Info,
  type NodeInfo,
  type Strategy,
  type TaskEvent,
  type TaskResult,
  type Totals,
} from '../protocol/api.js';
import { parseWith } from '../protocol/wire.js';
import { RayslClientError, usageError } from './errors.js';
import { follow } from './follow.js';
import { buildTaskRequest, type RunOptions } from './options.js';
import { PlacementGroup, WAIT_SLICE_MS } from './placement-group.js';
import { normalizeResources, type Resources as ResourceSpec } from './resources.js';
import { spawnService, type Service } from './service.js';
import { Transport } from './transport.js';

export { API_VERSION };
/** The version this client speaks (was the controller protocol's; kept for old imports). */
export const PROTOCOL_VERSION = API_VERSION;
// typeof guard: under tsx or vitest the bundler define may be absent
export const clientVersion: string = typeof RAYSL_VERSION === 'string' ? RAYSL_VERSION : 'dev';
export type { GroupState, Info, NodeInfo, RunOptions, Service, Strategy, TaskEvent, TaskResult, Totals };
export type { RayResources, RayslResources } from './resources.js';
export type { ResourceSpec };
/** Older names of Totals and TaskResult. */
export type Resources = Totals;
export type RunResult = TaskResult;
export {
  CancelledError,
  InfeasibleError,
  NodeLostError,
  PendingTimeoutError,
  RayslClientError,
  UnauthorizedError,
  type ClientErrorKind,
} from './errors.js';
export { PlacementGroup };

export interface ConnectOptions {
  /** host:port of the control server (default: $RAYSL_ADDRESS). */
  address?: string;
  /** The job's token (default: $RAYSL_TOKEN, else the file $RAYSL_TOKEN_FILE names). */
  token?: string;
  /** Per-request timeout in ms, except tasks, services and waits (default 30000). */
  timeoutMs?: number;
}

export interface Client {
  readonly address: string;
  readonly info: Info;
  /** Joined nodes, head first in join order. */
  nodes(): Promise<NodeInfo[]>;
  /** Everything the joined nodes have. */
  resources(): Promise<Totals>;
  /** What is free now (not held by tasks, services or placement groups). */
  available(): Promise<Totals>;
  kv: {
    put(key: string, value: string): Promise<void>;
    /** The value, or undefined; waitMs blocks until another process puts the key (rendezvous). */
    get(key: string, opts?: { waitMs?: number }): Promise<string | undefined>;
  };
  /** Runs argv where its resources fit (default 1 CPU); resolves with how it ended (a non-zero exit is not an error). */
  run(argv: string[], opts?: RunOptions): Promise<TaskResult>;
  /** Runs argv on one node (same as opts.node). */
  run(node: string, argv: string[], opts?: RunOptions): Promise<TaskResult>;
  /** Starts a long-running command; resolves once it runs (see Service). */
  spawn(argv: string[], opts?: RunOptions): Promise<Service>;
  /** Reserves bundles together; the request goes out at once, ready() waits for it. */
  placementGroup(bundles: ResourceSpec[], opts?: { strategy?: Strategy }): PlacementGroup;
  /** Ends every task and service this client still follows, and frees its sockets. */
  close(): void;
}

export async function connect(opts: ConnectOptions = {}): Promise<Client> {
  const address = opts.address ?? process.env[ADDRESS_ENV];
  const token = opts.token ?? tokenFromEnv(process.env);
  if (!address || !token) {
    throw usageError(
      `connect() needs ${ADDRESS_ENV} and ${TOKEN_ENV} (or ${TOKEN_FILE_ENV})`,
      'run this under `raysl run` or `raysl submit`, eval "$(raysl attach <jobid>)", or pass { address, token }',
    );
  }
  let transport: Transport;
  try {
    transport = new Transport(address, token, opts.timeoutMs ?? 30_000);
  } catch (e) {
    throw usageError(`connect(): ${(e as Error).message}`, `${ADDRESS_ENV} is host:port of the job's control server`);
  }
  const info = await handshake(transport).catch((e: unknown) => {
    transport.close();
    throw e;
  });

  const get = async <T>(path: string, schema: Parameters<typeof parseWith>[0], what: string): Promise<T> => {
    const { data } = await transport.call('GET', path);
    try {
      return parseWith(schema, data, what) as T;
    } catch (e) {
      throw new RayslClientError(`GET ${path}: the server sent ${(e as Error).message}`, undefined, 'protocol');
    }
  };
  const kvPath = (key: string) => {
    if (!KV_KEY.test(key))
      throw usageError(`kv key ${JSON.stringify(key)} is not allowed`, 'use 1-256 characters of A-Z a-z 0-9 . _ : / -');
    return `/v1/kv/${encodeURIComponent(key)}`;
  };

  const run = async (a: string | string[], b?: string[] | RunOptions, c?: RunOptions): Promise<TaskResult> => {
    const [argv, o] = typeof a === 'string' ? [b, { ...c, node: a }] : [a, (b ?? {}) as RunOptions];
    const request = await buildTaskRequest(argv, o, 'run');
    return follow(transport, '/v1/tasks', request, {
      signal: o.signal,
      onEvent: (ev) => {
        if (ev.e === 'output') o.onOutput?.(ev.data, ev.stream);
        o.onEvent?.(ev);
      },
    });
  };

  return {
    address,
    info,
    nodes: async () => (await get<{ nodes: NodeInfo[] }>('/v1/nodes', nodesSchema, 'nodes')).nodes,
    resources: () => get<Totals>('/v1/resources', totalsSchema, 'resources'),
    available: () => get<Totals>('/v1/available', totalsSchema, 'available resources'),
    kv: {
      put: async (key, value) => {
        if (typeof value !== 'string')
          throw usageError(`kv.put(${JSON.stringify(key)}): the value must be a string`, 'JSON.stringify it first');
        await transport.call('PUT', kvPath(key), { body: { value } });
      },
      get: async (key, o = {}) => {
        const path = kvPath(key);
        // long waits are cut into slices the server accepts; each slice is itself event-driven
        let left = o.waitMs ?? 0;
        for (;;) {
          const slice = Math.min(left, WAIT_SLICE_MS);
          const r = await transport.call('GET', `${path}?waitMs=${slice}`, {
            timeoutMs: transport.timeoutMs + slice,
            allowNotFound: true,
          });
          if (r.status !== 404) {
            const value = (r.data as { value?: unknown } | undefined)?.value;
            if (typeof value !== 'string')
              throw new RayslClientError(
                `GET ${path}: the server sent no string value (${JSON.stringify(r.data)})`,
                r.status,
                'protocol',
              );
            return value;
          }
          left -= slice;
          if (left <= 0) return undefined;
        }
      },
    },
    run: run as Client['run'],
    spawn: async (argv, o = {}) => spawnService(transport, await buildTaskRequest(argv, o, 'spawn'), o),
    placementGroup: (bundles, o = {}) => {
      if (!Array.isArray(bundles) || bundles.length === 0)
        throw usageError(
          'placementGroup(): needs at least one bundle',
          'e.g. placementGroup([{ gpus: 1 }, { gpus: 1 }])',
        );
      const strategy = o.strategy ?? 'PACK';
      if (!strategySchema.safeParse(strategy).success)
        throw usageError(
          `placementGroup(): unknown strategy ${JSON.stringify(strategy)}`,
          `one of ${strategySchema.options.join(', ')}`,
        );
      return new PlacementGroup(
        transport,
        bundles.map((b, i) => normalizeResources(b, `bundle ${i}`)),
        strategy,
      );
    },
    close: () => transport.close(),
  };
}

/** GET /v1/info: the version is checked before the shape, so another version's answer reads as such. */
async function handshake(transport: Transport): Promise<Info> {
  const { data } = await transport.call('GET', '/v1/info');
  const protocol = (data as { protocol?: unknown } | undefined)?.protocol;
  if (protocol !== API_VERSION) {
    throw new RayslClientError(
      `the control server at ${transport.address} speaks client API ${JSON.stringify(protocol)}, this client speaks ${API_VERSION} (use the raysl that launched the job: its own \`import { connect } from 'raysl'\`)`,
      undefined,
      'protocol',
    );
  }
  try {
    return parseWith(infoSchema, data, 'info');
  } catch (e) {
    throw new RayslClientError(`GET /v1/info: the server sent ${(e as Error).message}`, undefined, 'protocol');
  }
}
