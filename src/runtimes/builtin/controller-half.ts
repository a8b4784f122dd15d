/**
 * The builtin runtime's half in the controller: the scheduler over the joined nodes, tasks,
 * services, placement groups and the KV store, served as routes of the control server
 * (protocol/api.ts) and carried to the agents' halves as `rt` messages (protocol/builtin.ts).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Scheduler, type Decision, type NodeCapacity } from '../../core/scheduler/index.js';
import type { Placement } from '../../core/autoscale.js';
import { KV_KEY, parseGroupRequest, parseTaskRequest, type TaskEvent } from '../../protocol/api.js';
import { parseToController } from '../../protocol/builtin.js';
import { HttpError, openEventStream, readJson, sendJson } from '../../protocol/http.js';
import type { ControllerHalf, ControllerHalfContext, DemandView, JoinedNode } from '../types.js';
import { GroupBook } from './groups.js';
import { KvStore } from './kv.js';
import { ServicePorts } from './service-ports.js';
import { TaskBook } from './tasks.js';
import { fileModeFor } from '../../jobdir/modes.js';

/** Longest a KV get or a placement-group wait may block in one request (clients re-ask). */
const MAX_WAIT_MS = 60_000;
/** Task output written to the job's task log, per task (the caller's stream gets all of it). */
const LOGGED_PER_TASK = 1024 * 1024;

/** The job's task log (--task-log): each task's output with its id and node, at most LOGGED_PER_TASK bytes of each. */
function taskOutputLog(path: string | undefined): {
  output: (id: string, node: string, stream: 'stdout' | 'stderr', data: string) => void;
  close: () => Promise<void>;
} {
  const taskLog: WriteStream | undefined = path
    ? createWriteStream(path, { flags: 'a', mode: fileModeFor(path) })
    : undefined;
  taskLog?.on('error', () => undefined);
  const logged = new Map<string, number>();
  return {
    output: (id, node, stream, data) => {
      const n = logged.get(id) ?? 0;
      if (!taskLog || n > LOGGED_PER_TASK) return;
      logged.set(id, n + data.length);
      const prefix = `[${id} ${node}${stream === 'stderr' ? ' err' : ''}] `;
      taskLog.write(data.replace(/\n(?!$)/g, `\n${prefix}`).replace(/^/, prefix) + (data.endsWith('\n') ? '' : '\n'));
      if (n + data.length > LOGGED_PER_TASK)
        taskLog.write(
          `${prefix}[raysl: more output than ${LOGGED_PER_TASK} bytes; the caller's stream has all of it]\n`,
        );
    },
    close: () => new Promise<void>((r) => (taskLog ? taskLog.end(r) : r())),
  };
}

interface BuiltinState {
  scheduler: Scheduler;
  kv: KvStore;
  tasks: TaskBook;
  groups: GroupBook;
}

/** The builtin runtime's routes on the control server (the client API's resources, KV, tasks, services, groups). */
async function builtinRoutes(
  { scheduler, kv, tasks, groups }: BuiltinState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path === '/v1/resources' && method === 'GET') return json(res, scheduler.totals());
  if (path === '/v1/available' && method === 'GET') return json(res, scheduler.available());
  if (path.startsWith('/v1/kv/')) return kvRoute(kv, req, res, url);
  if ((path === '/v1/tasks' || path === '/v1/services') && method === 'POST') {
    const body = parseOr400(parseTaskRequest, await readJson(req));
    tasks.submit(path === '/v1/tasks' ? 'task' : 'service', body, openEventStream<TaskEvent>(res));
    return true;
  }
  const service = /^\/v1\/services\/([A-Za-z0-9]+)$/.exec(path);
  if (service && method === 'DELETE') {
    if (!tasks.stopService(service[1] as string, waitParam(url, 'graceMs', 3000, 600_000)))
      throw new HttpError(404, `no service ${service[1]}`, 'not-found');
    res.writeHead(204).end();
    return true;
  }
  if (path === '/v1/placement-groups' && method === 'POST')
    return json(res, groups.create(parseOr400(parseGroupRequest, await readJson(req))));
  const group = /^\/v1\/placement-groups\/([A-Za-z0-9]+)$/.exec(path);
  if (group && method === 'GET')
    return json(res, await groups.get(group[1] as string, waitParam(url, 'waitMs', 0, MAX_WAIT_MS)));
  if (group && method === 'DELETE') {
    groups.remove(group[1] as string);
    res.writeHead(204).end();
    return true;
  }
  return false;
}

export function builtinControllerHalf(ctx: ControllerHalfContext): ControllerHalf {
  const scheduler = new Scheduler();
  const kv = new KvStore();
  const nodes = new Map<string, JoinedNode>();
  const serviceRange = ctx.layout.ranges.service ?? { offset: 0, count: 0 };
  const ports = new ServicePorts(serviceRange.count);
  const taskLog = taskOutputLog(ctx.taskLog);

  // shrink: nodes being drained, each with the callers waiting for it to hold nothing of the job's
  const drains = new Map<string, Array<() => void>>();
  const checkDrains = (): void => {
    for (const [node, waiting] of drains) {
      if (scheduler.holdsOn(node)) continue;
      drains.delete(node);
      for (const done of waiting) done();
    }
  };
  const decided = (decisions: Decision[]): void => {
    for (const d of decisions) {
      if (d.kind === 'placed') tasks.placed(d.id, d.grant);
      else if (d.kind === 'rejected') tasks.rejected(d.id, d.reason);
      else if (d.kind === 'group-ready') groups.ready(d.group, d.bundles);
      else groups.rejected(d.group, d.reason);
    }
    // every release and removal passes here (with or without decisions)
    if (drains.size > 0) checkDrains();
  };
  const tasks: TaskBook = new TaskBook({
    scheduler,
    send: (node, body) => ctx.send(node, body),
    nodeAddress: (node) => nodes.get(node)?.address ?? node,
    servicePort: (node, k) => ctx.portBase(node) + serviceRange.offset + k,
    ports,
    output: taskLog.output,
    log: ctx.log,
    now: Date.now,
    decided,
  });
  let shape: { from: 'head' | 'worker'; cap: NodeCapacity } | undefined;
  const groups: GroupBook = new GroupBook({
    scheduler,
    evict: (ids, why) => tasks.evict(ids, why),
    decided,
    log: ctx.log,
  });

  return {
    handle: (req, res, url) => builtinRoutes({ scheduler, kv, tasks, groups }, req, res, url),
    onJoin(node) {
      nodes.set(node.name, node);
      const cap = {
        name: node.name,
        cpus: node.cpus,
        gpuIds: node.gpuIds,
        ...(node.memoryMb !== undefined ? { memoryMb: node.memoryMb } : {}),
        ...(node.custom ? { custom: node.custom } : {}),
      };
      // the shape autoscaling adds: the first worker's (satellites join later), else the head's
      if (ctx.maxNodes !== undefined && (shape === undefined || (shape.from === 'head' && node.role === 'worker'))) {
        shape = { from: node.role, cap };
        scheduler.setGrowth({ shape: cap, upTo: ctx.maxNodes });
      }
      decided(scheduler.addNode(cap));
    },
    drain(node) {
      scheduler.drainNode(node);
      return new Promise<void>((resolve) => {
        drains.set(node, [...(drains.get(node) ?? []), resolve]);
        checkDrains();
      });
    },
    onLoss(node, reason) {
      const waiting = drains.get(node) ?? [];
      drains.delete(node);
      for (const done of waiting) done();
      if (!nodes.delete(node)) return;
      const { decisions, evicted, groupsLost } = scheduler.removeNode(node);
      tasks.lost(evicted, `node ${node} was lost: ${reason}`);
      groups.lost(groupsLost, node);
      decided(decisions);
    },
    onMessage(node, body) {
      tasks.report(node, parseToController(body));
    },
    demand: () => builtinDemand(scheduler, shape?.cap),
    async close() {
      tasks.close();
      groups.close();
      kv.close();
      await taskLog.close();
    },
  };
}

const PLACEMENT: Record<string, Placement> = {
  STRICT_SPREAD: 'spread',
  STRICT_PACK: 'pack',
  PACK: 'any',
  SPREAD: 'any',
};

/** The scheduler's waiting work and node use, as autoscaling reads them. */
function builtinDemand(scheduler: Scheduler, shape: NodeCapacity | undefined): DemandView {
  const pending = scheduler.pendingDemand().map((d) => ({
    id: `${d.kind}:${d.id}`,
    what:
      d.kind === 'task'
        ? `task ${d.id}`
        : `placement group ${d.id} (${d.bundles.length} bundle${d.bundles.length === 1 ? '' : 's'}, ${d.strategy})`,
    bundles: d.bundles,
    placement: d.kind === 'task' ? ('any' as const) : (PLACEMENT[d.strategy] ?? 'any'),
  }));
  const nodes = scheduler.nodeUsage();
  if (!shape) return { pending, nodes };
  const cap: Record<string, number> = {
    CPU: shape.cpus,
    ...(shape.gpuIds.length > 0 ? { GPU: shape.gpuIds.length } : {}),
    ...(shape.memoryMb ? { memoryMb: shape.memoryMb } : {}),
    ...(shape.custom ?? {}),
  };
  return { pending, nodes, shape: cap };
}

function json(res: ServerResponse, body: unknown): true {
  sendJson(res, 200, body);
  return true;
}

function parseOr400<T>(parse: (x: unknown) => T, x: unknown): T {
  try {
    return parse(x);
  } catch (err) {
    throw new HttpError(400, (err as Error).message, 'bad-request');
  }
}

function waitParam(url: URL, name: string, dflt: number, max: number): number {
  const raw = url.searchParams.get(name);
  const n = raw === null ? dflt : Number(raw);
  return Number.isFinite(n) ? Math.min(max, Math.max(0, n)) : dflt;
}

async function kvRoute(kv: KvStore, req: IncomingMessage, res: ServerResponse, url: URL): Promise<true> {
  const key = decodeURIComponent(url.pathname.slice('/v1/kv/'.length));
  if (!KV_KEY.test(key))
    throw new HttpError(400, `bad key ${JSON.stringify(key)}: use 1-256 of A-Z a-z 0-9 . _ : / -`, 'bad-request');
  if (req.method === 'PUT') {
    const body = (await readJson(req)) as { value?: unknown } | null;
    if (!body || typeof body.value !== 'string') throw new HttpError(400, 'expected {"value": string}', 'bad-request');
    kv.put(key, body.value);
    res.writeHead(204).end();
    return true;
  }
  if (req.method === 'GET') {
    const value = await kv.get(key, waitParam(url, 'waitMs', 0, MAX_WAIT_MS));
    if (value === undefined) sendJson(res, 404, { error: `no key ${key}`, kind: 'not-found' });
    else sendJson(res, 200, { value });
    return true;
  }
  throw new HttpError(405, `use GET or PUT on /v1/kv/<key>`, 'bad-request');
}
