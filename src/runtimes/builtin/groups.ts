/**
 * Placement groups of the builtin runtime, on the controller: a group reserves all its bundles at
 * once (or waits, in order with tasks, or is rejected with the reason); `ready` waits for that
 * without polling; removing it stops what runs inside and frees the reservation.
 */
import type { Decision, Grant, Scheduler } from '../../core/scheduler/index.js';
import type { ErrorKind, GroupRequest, GroupState } from '../../protocol/api.js';
import { HttpError } from '../../protocol/http.js';

interface Group {
  id: string;
  req: GroupRequest;
  state: GroupState['state'];
  bundles?: Grant[];
  reason?: string;
  kind?: ErrorKind;
  waiters: Array<() => void>;
}

export interface GroupBookDeps {
  scheduler: Scheduler;
  /** Tasks that ran inside a removed group: stop them, telling their callers why. */
  evict(ids: string[], why: string): void;
  decided(decisions: Decision[]): void;
  log(line: string): void;
}

export class GroupBook {
  private readonly groups = new Map<string, Group>();
  private next = 1;

  constructor(private readonly d: GroupBookDeps) {}

  create(req: GroupRequest): GroupState {
    const id = `pg${this.next++}`;
    const r = this.d.scheduler.createGroup(id, req.bundles, req.strategy);
    if (r.status === 'rejected') throw new HttpError(422, r.reason, 'infeasible');
    const g: Group = {
      id,
      req,
      state: r.status === 'ready' ? 'ready' : 'pending',
      waiters: [],
      ...(r.status === 'ready' ? { bundles: r.bundles } : {}),
    };
    this.groups.set(id, g);
    this.d.log(`placement group ${id} (${req.strategy}, ${req.bundles.length} bundle(s)): ${g.state}`);
    return view(g);
  }

  /** The group's state, waiting up to waitMs while it is pending. */
  async get(id: string, waitMs: number): Promise<GroupState> {
    const g = this.find(id);
    if (g.state === 'pending' && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        g.waiters.push(done);
      });
    }
    return view(g);
  }

  remove(id: string): void {
    const g = this.find(id);
    if (g.state === 'removed') return;
    const { decisions, evicted } = this.d.scheduler.removeGroup(id);
    this.settle(g, 'removed', undefined, 'removed by the caller', 'cancelled');
    this.d.evict(evicted, `placement group ${id} was removed`);
    this.d.decided(decisions);
  }

  ready(id: string, bundles: Grant[]): void {
    const g = this.groups.get(id);
    if (g && g.state === 'pending') {
      this.d.log(`placement group ${id} ready: ${bundles.map((b) => b.node).join(', ')}`);
      this.settle(g, 'ready', bundles);
    }
  }

  rejected(id: string, reason: string): void {
    const g = this.groups.get(id);
    if (g && g.state !== 'removed') this.settle(g, 'removed', undefined, reason, 'infeasible');
  }

  /** Groups with a bundle on a lost node: removed (Ray would re-reserve; raysl says so instead). */
  lost(ids: string[], node: string): void {
    for (const id of ids) {
      const g = this.groups.get(id);
      if (!g || g.state === 'removed') continue;
      const { decisions, evicted } = this.d.scheduler.removeGroup(id);
      this.settle(g, 'removed', undefined, `node ${node} holding one of its bundles was lost`, 'node-lost');
      this.d.evict(evicted, `placement group ${id} lost node ${node}`);
      this.d.decided(decisions);
    }
  }

  close(): void {
    for (const g of this.groups.values())
      if (g.state === 'pending') this.settle(g, 'removed', undefined, 'the job is ending', 'shutting-down');
  }

  private find(id: string): Group {
    const g = this.groups.get(id);
    if (!g) throw new HttpError(404, `no placement group ${id}`, 'not-found');
    return g;
  }

  private settle(g: Group, state: GroupState['state'], bundles?: Grant[], reason?: string, kind?: ErrorKind): void {
    g.state = state;
    if (kind !== undefined) g.kind = kind;
    if (bundles) g.bundles = bundles;
    else delete g.bundles;
    if (reason !== undefined) g.reason = reason;
    for (const w of g.waiters.splice(0)) w();
  }
}

function view(g: Group): GroupState {
  return {
    id: g.id,
    state: g.state,
    strategy: g.req.strategy,
    ...(g.bundles
      ? {
          bundles: g.bundles.map((b) => ({
            node: b.node,
            cpus: b.cpus,
            gpus: b.gpus.reduce((a, x) => a + x.share, 0),
            gpuIds: b.gpus.map((x) => x.id),
            memoryMb: b.memoryMb,
            custom: b.custom,
          })),
        }
      : {}),
    ...(g.reason !== undefined ? { reason: g.reason } : {}),
    ...(g.kind !== undefined ? { kind: g.kind } : {}),
  };
}
