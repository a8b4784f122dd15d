// The client against a small real HTTP server (node:http, loopback) that speaks the client API
// contract of protocol/api.ts: each test scripts the server's side and checks what the client
// sent and how it reads the answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CancelledError,
  connect,
  InfeasibleError,
  NodeLostError,
  PendingTimeoutError,
  RayslClientError,
  UnauthorizedError,
  type Client,
} from '../../src/client/index.js';
import { API_VERSION, type TaskEvent, type TaskResult } from '../../src/protocol/api.js';
import { until } from '../support/until.js';

const TOKEN = 'secret-token';

interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  req: IncomingMessage;
  res: ServerResponse;
}
type Route = (r: Req) => boolean | Promise<boolean>;

const servers: Server[] = [];
const clients: Client[] = [];
afterEach(async () => {
  clients.splice(0).forEach((c) => c.close());
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r).closeAllConnections())));
});

const json = (res: ServerResponse, status: number, body?: unknown) => {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};
const line = (ev: TaskEvent) => JSON.stringify(ev) + '\n';
const result = (over: Partial<TaskResult> = {}): TaskResult => ({
  id: 't1',
  exitCode: 0,
  signal: null,
  node: 'node1',
  gpuIds: [],
  stdout: '',
  stderr: '',
  startedAt: 1,
  endedAt: 2,
  attempts: 1,
  timedOut: false,
  ...over,
});

/** A server that checks the token, answers the handshake as `info` says, then tries each route. */
async function serve(
  routes: Route[],
  info: Record<string, unknown> = { protocol: API_VERSION, jobId: 'j1', runtime: 'builtin', head: 'node1' },
) {
  const seen: Req[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString();
      const r: Req = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        body: text ? JSON.parse(text) : undefined,
        req,
        res,
      };
      seen.push(r);
      if (req.headers.authorization !== `Bearer ${TOKEN}`)
        return json(res, 401, { error: 'unauthorized', kind: 'unauthorized' });
      if (r.method === 'GET' && r.path === '/v1/info') return json(res, 200, info);
      for (const route of routes) if (await route(r)) return;
      json(res, 404, { error: `no route ${r.method} ${r.path}`, kind: 'not-found' });
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = async (token = TOKEN) => {
    const c = await connect({ address, token, timeoutMs: 5_000 });
    clients.push(c);
    return c;
  };
  return { address, seen, client };
}

/** Answers POST <path> with these NDJSON chunks, written one by one. */
const streamRoute =
  (path: string, chunks: string[]): Route =>
  (r) => {
    if (r.method !== 'POST' || r.path !== path) return false;
    r.res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const c of chunks) r.res.write(c);
    r.res.end();
    return true;
  };

describe('client: handshake and plain calls', () => {
  it('refuses a server of another API version, naming both versions', async () => {
    const { client } = await serve([], { protocol: 3, jobId: 'j1', runtime: 'builtin', head: 'node1' });
    const err = await client().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RayslClientError);
    expect((err as RayslClientError).kind).toBe('protocol');
    expect((err as Error).message).toMatch(new RegExp(`speaks client API 3, this client speaks ${API_VERSION}`));
  });

  it('a wrong token is an UnauthorizedError (401) with a hint', async () => {
    const { client } = await serve([]);
    const err = await client('wrong').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect(err).toMatchObject({ status: 401, kind: 'unauthorized' });
    expect((err as Error).message).toMatch(/GET \/v1\/info: 401 unauthorized \(RAYSL_TOKEN is not this job's token/);
  });

  it('says what connect() needs when the environment has no address', async () => {
    await expect(connect({ address: '', token: '' })).rejects.toThrow(
      /connect\(\) needs RAYSL_ADDRESS and RAYSL_TOKEN \(or RAYSL_TOKEN_FILE\) \(run this under `raysl run`/,
    );
  });

  it('reads nodes and totals, and names a field the server got wrong', async () => {
    const totals = { nodes: 2, cpus: 8, gpus: 4, memoryMb: 8192, custom: { trainer: 2 } };
    const { client } = await serve([
      (r) =>
        r.path === '/v1/nodes' &&
        (json(r.res, 200, {
          nodes: [
            { name: 'node1', role: 'head', address: '127.0.1.1', hostname: 'h', cpus: 4, gpus: 2, gpuIds: ['0', '1'] },
          ],
        }),
        true),
      (r) => r.path === '/v1/resources' && (json(r.res, 200, totals), true),
      (r) => r.path === '/v1/available' && (json(r.res, 200, { ...totals, gpus: 'lots' }), true),
    ]);
    const c = await client();
    expect(c.info.jobId).toBe('j1');
    expect((await c.nodes()).map((n) => n.name)).toEqual(['node1']);
    expect(await c.resources()).toEqual(totals);
    await expect(c.available()).rejects.toThrow(
      /GET \/v1\/available: the server sent malformed available resources: gpus: expected number/,
    );
  });

  it('kv: put, get, a get that waits until another put, and a key outside the alphabet', async () => {
    const store = new Map<string, string>();
    const waiting = new Map<string, () => void>();
    const { client, seen } = await serve([
      (r) => {
        const key = decodeURIComponent(r.path.slice('/v1/kv/'.length));
        if (!r.path.startsWith('/v1/kv/')) return false;
        if (r.method === 'PUT') {
          store.set(key, (r.body as { value: string }).value);
          waiting.get(key)?.();
          json(r.res, 204);
          return true;
        }
        const answer = () =>
          store.has(key)
            ? json(r.res, 200, { value: store.get(key) })
            : json(r.res, 404, { error: 'no such key', kind: 'not-found' });
        const waitMs = Number(r.query.get('waitMs') ?? 0);
        if (store.has(key) || waitMs === 0) answer();
        else waiting.set(key, answer);
        return true;
      },
    ]);
    const c = await client();
    expect(await c.kv.get('absent')).toBeUndefined();
    const rendezvous = c.kv.get('master', { waitMs: 10_000 });
    await serverSaw('a wait on master', () => waiting.has('master'));
    await c.kv.put('master', '127.0.1.1:23000');
    expect(await rendezvous).toBe('127.0.1.1:23000');
    expect(seen.find((r) => r.path === '/v1/kv/master' && r.method === 'GET')?.query.get('waitMs')).toBe('10000');
    await expect(c.kv.put('a b', 'x')).rejects.toThrow(/kv key "a b" is not allowed \(use 1-256 characters/);
  });
});

describe('client: tasks', () => {
  it('reads NDJSON events split anywhere (inside a line, inside a character) and resolves a non-zero exit', async () => {
    const events = [
      line({ e: 'accepted', id: 't1' }),
      line({ e: 'pending', reason: 'waiting for 1 GPU' }),
      line({ e: 'placed', node: 'node2', gpuIds: ['1'], attempt: 1 }),
      line({ e: 'output', stream: 'stdout', data: 'héllo ✓\n' }),
      line({ e: 'output', stream: 'stderr', data: 'warn\n' }),
      line({
        e: 'result',
        result: result({ exitCode: 3, node: 'node2', gpuIds: ['1'], stdout: 'héllo ✓\n', stderr: 'warn\n' }),
      }),
    ];
    const bytes = Buffer.from(events.join(''));
    const cut = bytes.indexOf(Buffer.from('✓')) + 1; // inside the 3-byte character
    const chunks = [bytes.subarray(0, 5), bytes.subarray(5, cut), bytes.subarray(cut)].map((b) => b.toString('latin1'));
    const { client, seen } = await serve([
      (r) => {
        if (r.path !== '/v1/tasks') return false;
        r.res.writeHead(200);
        for (const c of chunks) r.res.write(Buffer.from(c, 'latin1'));
        r.res.end();
        return true;
      },
    ]);
    const c = await client();
    const output: string[] = [];
    const kinds: string[] = [];
    const r = await c.run(['python3', 'eval.py', '3'], {
      gpus: 0.5,
      resources: { trainer: 1 },
      onOutput: (d, s) => output.push(`${s}:${d}`),
      onEvent: (ev) => kinds.push(ev.e),
    });
    expect(r).toMatchObject({ exitCode: 3, node: 'node2', gpuIds: ['1'], stdout: 'héllo ✓\n' });
    expect(output).toEqual(['stdout:héllo ✓\n', 'stderr:warn\n']);
    expect(kinds).toEqual(['accepted', 'pending', 'placed', 'output', 'output', 'result']);
    expect(seen.at(-1)?.body).toEqual({
      argv: ['python3', 'eval.py', '3'],
      resources: { gpus: 0.5, custom: { trainer: 1 } },
    });
  });

  it("keeps today's form: run(node, argv, opts) pins the node", async () => {
    const { client, seen } = await serve([
      streamRoute('/v1/tasks', [line({ e: 'result', result: result({ stdout: 'node3\n', node: 'node3' }) })]),
    ]);
    const c = await client();
    expect((await c.run('node3', ['hostname'], { env: { A: '1' }, timeoutMs: 1000 })).stdout).toBe('node3\n');
    expect(seen.at(-1)?.body).toEqual({ argv: ['hostname'], node: 'node3', env: { A: '1' }, timeoutMs: 1000 });
  });

  it.each([
    ['infeasible', InfeasibleError],
    ['pending-timeout', PendingTimeoutError],
    ['node-lost', NodeLostError],
    ['cancelled', CancelledError],
    ['shutting-down', RayslClientError],
  ] as const)('an error event of kind %s rejects with %o', async (kind, type) => {
    const { client } = await serve([
      streamRoute('/v1/tasks', [
        line({ e: 'accepted', id: 't1' }),
        line({ e: 'error', kind, message: `the ${kind} words` }),
      ]),
    ]);
    const c = await client();
    const err = await c.run(['train'], { gpus: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect(err).toMatchObject({ kind, message: `train: the ${kind} words` });
  });

  it('an error status before the stream rejects with the typed error and the status', async () => {
    const { client } = await serve([
      (r) =>
        r.path === '/v1/tasks' &&
        (json(r.res, 422, { error: 'no node has 9 GPUs (the largest has 2)', kind: 'infeasible' }), true),
    ]);
    const c = await client();
    const err = await c.run(['train'], { gpus: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfeasibleError);
    expect(err).toMatchObject({
      status: 422,
      message: 'train: POST /v1/tasks: 422 no node has 9 GPUs (the largest has 2)',
    });
  });

  it('a stream that ends without a result, and one with an off-contract event, reject clearly', async () => {
    const { client } = await serve([
      streamRoute('/v1/tasks', [line({ e: 'accepted', id: 't1' })]),
      streamRoute('/v1/services', ['{"e":"placed","node":"node1"}\n']),
    ]);
    const c = await client();
    await expect(c.run(['x'])).rejects.toThrow(
      /x: the control server closed the stream without a result: the job is ending\?/,
    );
    await expect(c.spawn(['x'])).rejects.toThrow(/the server sent malformed task event: gpuIds: expected array/);
  });

  it('refuses bad options before anything is sent', async () => {
    const { client, seen } = await serve([]);
    const c = await client();
    const before = seen.length;
    await expect(c.run([] as string[])).rejects.toThrow(/run: argv must be a non-empty array of strings/);
    await expect(c.run(['x'], { bundle: 1 })).rejects.toThrow(/bundle 1 is given without a placementGroup/);
    await expect(c.run(['x'], { timeoutMs: 1.5 })).rejects.toThrow(/malformed task request: timeoutMs/);
    expect(seen.length).toBe(before);
  });

  it('abort closes the stream: the server sees the request closed, the call rejects with CancelledError', async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((r) => (serverSawClose = r));
    const { client } = await serve([
      (r) => {
        if (r.path !== '/v1/tasks') return false;
        r.res.writeHead(200);
        r.res.write(line({ e: 'accepted', id: 't1' }) + line({ e: 'placed', node: 'node1', gpuIds: [], attempt: 1 }));
        r.res.on('close', serverSawClose); // the server kills the process group here
        return true;
      },
    ]);
    const c = await client();
    const abort = new AbortController();
    const running = c.run(['sleep', '1000'], {
      signal: abort.signal,
      onEvent: (ev) => ev.e === 'placed' && abort.abort(),
    });
    await expect(running).rejects.toBeInstanceOf(CancelledError);
    await closed;
  });

  it('close() cancels what is still running', async () => {
    let accepted!: () => void;
    const got = new Promise<void>((r) => (accepted = r));
    const { client } = await serve([
      (r) =>
        r.path === '/v1/tasks' &&
        (r.res.writeHead(200), r.res.write(line({ e: 'accepted', id: 't1' })), accepted(), true),
    ]);
    const c = await client();
    const running = c.run(['sleep', '1000']);
    await got;
    c.close();
    await expect(running).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('client: placement groups', () => {
  it('posts at once, ready() waits through ?waitMs until the server says ready, tasks name the group', async () => {
    let state: 'pending' | 'ready' = 'pending';
    const waiters: (() => void)[] = [];
    const grant = { node: 'node1', cpus: 0, gpus: 1, gpuIds: ['0'], memoryMb: 0, custom: {} };
    const groupState = () => ({
      id: 'pg1',
      state,
      strategy: 'STRICT_SPREAD',
      ...(state === 'ready' ? { bundles: [grant, { ...grant, node: 'node2' }] } : {}),
    });
    const { client, seen } = await serve([
      (r) => r.method === 'POST' && r.path === '/v1/placement-groups' && (json(r.res, 200, groupState()), true),
      (r) => {
        if (r.method !== 'GET' || r.path !== '/v1/placement-groups/pg1') return false;
        if (state === 'ready') json(r.res, 200, groupState());
        else waiters.push(() => json(r.res, 200, groupState()));
        return true;
      },
      streamRoute('/v1/tasks', [line({ e: 'result', result: result() })]),
      (r) => r.method === 'DELETE' && r.path === '/v1/placement-groups/pg1' && (json(r.res, 204), true),
    ]);
    const c = await client();
    const pg = c.placementGroup([{ GPU: 1 }, { gpus: 1 }], { strategy: 'STRICT_SPREAD' });
    const ready = pg.ready();
    await serverSaw('a waiter', () => waiters.length > 0);
    expect(seen.find((r) => r.method === 'POST')?.body).toEqual({
      bundles: [{ gpus: 1 }, { gpus: 1 }],
      strategy: 'STRICT_SPREAD',
    });
    expect(seen.at(-1)?.query.get('waitMs')).toBe('55000');
    state = 'ready';
    waiters.splice(0).forEach((w) => w());
    expect((await ready).bundles?.map((b) => b.node)).toEqual(['node1', 'node2']);
    await c.run(['python3', 'train.py'], { gpus: 1, placementGroup: pg, bundle: 1 });
    expect(seen.at(-1)?.body).toMatchObject({ placementGroup: 'pg1', bundle: 1 });
    await pg.remove();
    expect(seen.at(-1)?.method).toBe('DELETE');
  });

  it('ready({ timeoutMs }) rejects with PendingTimeoutError once the wait runs out', async () => {
    const pending = { id: 'pg2', state: 'pending', strategy: 'PACK' };
    const { client, seen } = await serve([
      (r) => r.method === 'POST' && (json(r.res, 200, pending), true),
      // the server holds each wait for the time asked, as the real one does when nothing changes
      (r) => r.method === 'GET' && (setTimeout(() => json(r.res, 200, pending), Number(r.query.get('waitMs'))), true),
    ]);
    const c = await client();
    const err = await c
      .placementGroup([{ gpus: 8 }])
      .ready({ timeoutMs: 50 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PendingTimeoutError);
    expect((err as Error).message).toMatch(/placement group pg2 \(PACK, 1 bundle\(s\)\) was not ready within 50 ms/);
    expect(Number(seen.find((r) => r.method === 'GET')?.query.get('waitMs'))).toBeLessThanOrEqual(50);
  });

  it('an infeasible group rejects ready() and run() with InfeasibleError; remove() is quiet', async () => {
    const { client } = await serve([
      (r) =>
        r.method === 'POST' &&
        (json(r.res, 422, { error: 'STRICT_SPREAD of 5 bundles needs 5 nodes, the cluster has 4', kind: 'infeasible' }),
        true),
    ]);
    const c = await client();
    const pg = c.placementGroup(
      Array.from({ length: 5 }, () => ({ gpus: 1 })),
      { strategy: 'STRICT_SPREAD' },
    );
    await expect(pg.ready()).rejects.toBeInstanceOf(InfeasibleError);
    await expect(c.run(['x'], { placementGroup: pg })).rejects.toThrow(/needs 5 nodes, the cluster has 4/);
    await expect(pg.remove()).resolves.toBeUndefined();
    expect(() => c.placementGroup([{ gpus: 1 }], { strategy: 'pack' as never })).toThrow(
      /unknown strategy "pack" \(one of PACK, SPREAD/,
    );
  });
});

describe('client: services', () => {
  it('spawn resolves once started; stop() DELETEs with the grace and resolves with the result', async () => {
    let deleted: Req | undefined;
    let stream!: ServerResponse;
    const { client } = await serve([
      (r) => {
        if (r.path !== '/v1/services') return false;
        stream = r.res;
        r.res.writeHead(200);
        r.res.write(
          line({ e: 'accepted', id: 's1' }) + line({ e: 'placed', node: 'node2', gpuIds: ['1'], attempt: 1 }),
        );
        r.res.write(
          line({ e: 'started', node: 'node2', address: '127.0.1.2', port: 23050, pid: 99 }) +
            line({ e: 'output', stream: 'stderr', data: 'Serving HTTP\n' }),
        );
        return true;
      },
      (r) => {
        if (r.method !== 'DELETE' || r.path !== '/v1/services/s1') return false;
        deleted = r;
        json(r.res, 204);
        stream.end(line({ e: 'result', result: result({ id: 's1', exitCode: null, signal: 'SIGTERM' }) }));
        return true;
      },
    ]);
    const c = await client();
    const seenOutput: string[] = [];
    const s = await c.spawn(['python3', '-m', 'http.server'], { gpus: 1, onOutput: (d) => seenOutput.push(d) });
    expect(s).toMatchObject({
      id: 's1',
      node: 'node2',
      address: '127.0.1.2',
      port: 23050,
      gpuIds: ['1'],
      url: 'http://127.0.1.2:23050',
    });
    await serverSaw('Serving HTTP', () => s.output().includes('Serving HTTP'));
    expect(seenOutput).toEqual(['Serving HTTP\n']);
    expect(await s.stop(2000)).toMatchObject({ id: 's1', signal: 'SIGTERM' });
    expect(deleted?.query.get('graceMs')).toBe('2000');
    expect(await s.exited).toMatchObject({ signal: 'SIGTERM' });
  });

  it('a service that exits before it starts rejects spawn() with its stderr', async () => {
    const { client } = await serve([
      streamRoute('/v1/services', [
        line({ e: 'accepted', id: 's2' }),
        line({ e: 'result', result: result({ id: 's2', exitCode: 127, stderr: 'nosuch: not found\n' }) }),
      ]),
    ]);
    const c = await client();
    const err = await c.spawn(['nosuch']).catch((e: unknown) => e);
    expect(err).toMatchObject({
      kind: 'service-exited',
      message: 'nosuch: the service exited (code 127) before it started: nosuch: not found',
    });
  });
});

/** Waits for a condition the server side sets (a request arrived): polls every millisecond, bounded. */
function serverSaw(what: string, cond: () => boolean): Promise<true> {
  return until(what, () => cond() || undefined, 5_000, { intervalMs: 1 });
}
