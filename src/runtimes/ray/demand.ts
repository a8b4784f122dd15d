/**
 * The pending resource demand of the job's Ray, for autoscaling (--max-nodes), read from Ray's own
 * autoscaler state in the GCS.
 *
 * API: the GCS's `GetClusterResourceState` RPC (src/ray/gcs/gcs_autoscaler_state_manager.cc,
 * `GcsAutoscalerStateManager::HandleGetClusterResourceState` -> `MakeClusterResourceStateInternal`),
 * called through Ray 2.60's own client, `ray.autoscaler.v2.sdk.get_cluster_resource_state(GcsClient)`
 * (python/ray/autoscaler/v2/sdk.py), which returns the `ClusterResourceState` protobuf
 * (src/ray/protobuf/autoscaler.proto): the same state Ray's v2 autoscaler reads.
 * - `pending_resource_requests`: per shape of tasks and actors, how many wait (the GCS sums each
 *   raylet's load by shape: infeasible, backlog and ready but unscheduled: GetPendingResourceRequests).
 * - `pending_gang_resource_requests`: placement groups pending or rescheduling, one request per
 *   unplaced bundle; STRICT_SPREAD bundles carry an anti-affinity constraint, STRICT_PACK ones an
 *   affinity constraint (GetPendingGangResourceRequests); `details` is "<pg id>:<strategy>|<state>".
 * - `node_states`: each node's available and total resources and `idle_duration_ms` (Ray's own idle
 *   time: 0 while anything runs or holds resources on it).
 * The GCS serves it whether or not an autoscaler runs (none does in a raysl job), with token auth.
 *
 * The reader is one long-lived Python process on the controller's node (importing Ray costs seconds
 * of CPU: once, not per poll) that prints one JSON line per interval; it exits when its stdin closes,
 * so it never outlives the controller, kill -9 included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { PendingWork, Placement, Resources } from '../../core/autoscale.js';
import type { DemandReader, DemandReaderContext, DemandView } from '../types.js';
import { rayBin, rayInterpreter } from './bin.js';

const RAY_DEMAND_PY = String.raw`# raysl: the pending resource demand of this job's Ray (src/runtimes/ray/demand.ts says why)
import json, os, sys, threading, time

def gone():
    sys.stdin.read()  # the controller closed our stdin, or died
    os._exit(0)

threading.Thread(target=gone, daemon=True).start()
from ray._raylet import GcsClient
from ray.autoscaler.v2.sdk import get_cluster_resource_state
from ray.core.generated.autoscaler_pb2 import NodeStatus

def placement(req):
    for c in req.placement_constraints:
        if c.HasField("anti_affinity"):
            return "spread"
        if c.HasField("affinity"):
            return "pack"
    return "any"

def snapshot(state):
    pending = [{"resources": dict(r.request.resources_bundle), "count": r.count, "placement": placement(r.request)} for r in state.pending_resource_requests]
    gangs = [{"id": g.details, "bundles": [dict(q.resources_bundle) for q in g.requests], "placement": placement(g.requests[0]) if g.requests else "any"} for g in state.pending_gang_resource_requests]
    nodes = [{"address": n.node_ip_address, "status": NodeStatus.Name(n.status), "idleMs": n.idle_duration_ms, "free": dict(n.available_resources), "total": dict(n.total_resources)} for n in state.node_states]
    return {"pending": pending, "gangs": gangs, "nodes": nodes}

address = os.environ["RAYSL_RAY_GCS_ADDRESS"]
every = float(os.environ.get("RAYSL_DEMAND_EVERY_S", "1"))
client = None
while True:
    try:
        client = client or GcsClient(address=address)
        line = snapshot(get_cluster_resource_state(client))
    except Exception as e:
        client, line = None, {"error": repr(e)[:500]}
    print(json.dumps(line, sort_keys=True), flush=True)
    time.sleep(every)
`;

/** One line of the reader, as Python printed it. */
export interface RayDemandLine {
  pending?: Array<{ resources: Record<string, number>; count: number; placement: Placement }>;
  gangs?: Array<{ id: string; bundles: Array<Record<string, number>>; placement: Placement }>;
  nodes?: Array<{
    address: string;
    status: string;
    idleMs: number;
    free: Record<string, number>;
    total: Record<string, number>;
  }>;
  error?: string;
}

export interface RayNodeUse {
  address: string;
  free: Resources;
  total: Resources;
  idleMs: number;
}

/** What autoscaling reads: the waiting work (its wait is the caller's to track) and each live node. */
export interface RayDemand {
  pending: Array<Omit<PendingWork, 'waitedMs'>>;
  nodes: RayNodeUse[];
}

const MB = 1024 * 1024;

/**
 * Ray's resource names -> autoscaling's (CPU, GPU, memoryMb, custom as named). Left out: each
 * node's own `node:<ip>` and `node:__internal_head__` markers and the object store (raysl sizes
 * it per node; no task asks for it). Undefined for a request pinned to one node (`node:<ip>`):
 * more nodes cannot serve it.
 */
export function fromRayResources(r: Record<string, number>, isRequest: boolean): Resources | undefined {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) {
    if (k.startsWith('node:')) {
      if (isRequest) return undefined;
      continue;
    }
    if (k === 'object_store_memory') continue;
    if (k === 'memory') out.memoryMb = Math.floor(v / MB);
    else out[k] = v;
  }
  return out;
}

const key = (r: Record<string, number>) =>
  Object.keys(r)
    .sort()
    .map((k) => `${k}=${r[k]}`)
    .join(',');

/** A reader line -> demand: one item per waiting task (ids stable while it waits), one per group. */
export function parseRayDemand(line: RayDemandLine): RayDemand {
  const pending: RayDemand['pending'] = [];
  for (const p of line.pending ?? []) {
    const r = fromRayResources(p.resources, true);
    if (r === undefined) continue;
    for (let i = 0; i < p.count; i++)
      pending.push({ id: `task|${key(r)}#${i}`, what: `Ray task {${key(r)}}`, bundles: [r], placement: 'any' });
  }
  for (const g of line.gangs ?? []) {
    const bundles = g.bundles.map((b) => fromRayResources(b, true));
    if (bundles.some((b) => b === undefined) || bundles.length === 0) continue;
    // "<pg id>:<strategy>|<state>": the id and strategy stay while it waits, the state may change
    const [idAndStrategy = g.id] = g.id.split('|');
    const [pg = idAndStrategy, strategy = ''] = idAndStrategy.split(':');
    pending.push({
      id: `group|${idAndStrategy}`,
      what: `Ray placement group ${pg.slice(0, 12)} (${bundles.length} bundles${strategy ? `, ${strategy}` : ''})`,
      bundles: bundles as Resources[],
      placement: g.placement,
    });
  }
  const nodes = (line.nodes ?? [])
    .filter((n) => n.status !== 'DEAD')
    .map((n) => ({
      address: n.address,
      free: fromRayResources(n.free, false)!,
      total: fromRayResources(n.total, false)!,
      idleMs: n.status === 'DRAINING' ? 0 : n.idleMs,
    }));
  return { pending, nodes };
}

export interface RayDemandReader {
  /** The newest reading (undefined before the first, or while the GCS does not answer). */
  latest(): RayDemand | undefined;
  /** The newest error the reader printed, if its last line was one. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/**
 * Starts the reader with Ray's Python (`python`) and the entrypoint's environment (RAY_ADDRESS and
 * the token auth variables it gets). `log` hears its start and its first error.
 */
function startRayDemandReader(opts: {
  python: string;
  env: NodeJS.ProcessEnv;
  everyS: number;
  log: (line: string) => void;
}): RayDemandReader {
  const gcs = opts.env['RAY_ADDRESS'] ?? '';
  const child: ChildProcess = spawn(opts.python, ['-c', RAY_DEMAND_PY], {
    env: { ...opts.env, RAYSL_RAY_GCS_ADDRESS: gcs, RAYSL_DEMAND_EVERY_S: String(opts.everyS) },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let latest: RayDemand | undefined;
  let error: string | undefined;
  let buf = '';
  let said = false;
  child.on('error', (err) => {
    error = `could not start ${opts.python}: ${err.message}`;
    opts.log(`autoscale: Ray's demand reader: ${error}`);
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const line = JSON.parse(text) as RayDemandLine;
        if (line.error !== undefined) {
          error = line.error;
          if (!said) opts.log(`autoscale: Ray's GCS did not answer the demand reader: ${line.error}`);
          said = true;
        } else {
          latest = parseRayDemand(line);
          error = undefined;
        }
      } catch {
        // a line that is not ours (Ray printing to stdout): skip it
      }
    }
  });
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return {
    latest: () => latest,
    lastError: () => error,
    async close() {
      child.stdin!.end();
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      // it exits on its stdin's end within a poll; KILL what does not, and never wait unbounded
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((r) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          r();
        }, 2000);
      });
      await Promise.race([exited, late]);
      clearTimeout(timer);
    },
  };
}

/** Ray's demand by raysl node name (nodes Ray has that raysl does not know are left out). */
function rayDemandView(
  d: RayDemand,
  nodeOf: (address: string) => string | undefined,
  shapeAddress: string | undefined,
): DemandView {
  const nodes: DemandView['nodes'] = [];
  for (const n of d.nodes) {
    const name = nodeOf(n.address);
    if (name !== undefined) nodes.push({ name, free: n.free, idle: n.idleMs > 0, idleMs: n.idleMs });
  }
  const shape = d.nodes.find((n) => n.address === shapeAddress)?.total;
  return { pending: d.pending, nodes, ...(shape ? { shape } : {}) };
}

/** The Ray adapter's demandReader: the reader above with Ray's own Python (the `ray` console script's). */
export function rayDemandReader(ctx: DemandReaderContext): DemandReader {
  const python = rayInterpreter(rayBin(ctx.env), ctx.env) ?? 'python3';
  const reader = startRayDemandReader({ python, env: ctx.env, everyS: 1, log: ctx.log });
  return {
    read: () => {
      const d = reader.latest();
      return d === undefined ? undefined : rayDemandView(d, ctx.nodeOf, ctx.shapeAddress());
    },
    close: () => reader.close(),
  };
}
