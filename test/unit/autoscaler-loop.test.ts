// The controller's autoscaler loop (src/controller/autoscaler.ts) driven round by round with an
// injected clock, demand and Elastic edge (a small in-memory one: satellites queue, join, drain).
import { describe, expect, it } from 'vitest';
import { Autoscaler } from '../../src/controller/autoscaler.js';
import type { Elastic, GrowRequest, SatelliteInfo, ShrinkTarget } from '../../src/controller/elastic.js';
import type { DemandView } from '../../src/runtimes/types.js';

class MemElastic implements Elastic {
  sats: SatelliteInfo[] = [];
  failGrow: string | undefined;
  grows: GrowRequest[] = [];
  shrinks: ShrinkTarget[] = [];
  async grow(req: GrowRequest, reason: string): Promise<SatelliteInfo> {
    this.grows.push(req);
    if (this.failGrow) throw new Error(this.failGrow);
    const s: SatelliteInfo = {
      id: `s${this.sats.length + 1}`,
      slurmJobId: String(100 + this.sats.length),
      state: 'queued',
      requested: req.nodes,
      nodes: [],
      joined: [],
      submittedAt: new Date(0).toISOString(),
      reason,
    };
    this.sats.push(s);
    return s;
  }
  async shrink(target: ShrinkTarget): Promise<void> {
    this.shrinks.push(target);
    const s = this.sats.find((x) => x.id === target.satellite)!;
    s.state = 'ended';
    s.joined = [];
  }
  satellites(): readonly SatelliteInfo[] {
    return this.sats;
  }
  activeNodes(): string[] {
    return this.sats.filter((s) => s.state === 'joined').flatMap((s) => s.joined);
  }
  on(): unknown {
    return this;
  }
  /** Slurm started it and its nodes joined. */
  join(id: string, nodes: string[]): void {
    const s = this.sats.find((x) => x.id === id)!;
    Object.assign(s, { state: 'joined', nodes, joined: nodes });
  }
}

const SHAPE = { CPU: 4 };
const spread4 = {
  id: 'group:pg',
  what: 'placement group pg (4 bundles, STRICT_SPREAD)',
  bundles: [{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }, { CPU: 1 }],
  placement: 'spread' as const,
};

function rig() {
  let now = 0;
  const events: string[] = [];
  const elastic = new MemElastic();
  let view: DemandView = { pending: [], nodes: [], shape: SHAPE };
  let members: string[] | undefined;
  const scaler = new Autoscaler({
    limits: { maxNodes: 4, idleTimeoutMs: 20_000, scaleUpDelayMs: 5_000 },
    elastic,
    read: () => view,
    // the registry: by default exactly the nodes the view lists
    members: () => members ?? view.nodes.map((n) => n.name),
    now: () => now,
    record: (d) => events.push(d),
    log: () => {},
  });
  return {
    scaler,
    elastic,
    events,
    setMembers: (m: string[]) => (members = m),
    at: async (t: number, v?: DemandView) => {
      now = t;
      if (v) view = v;
      await scaler.once();
    },
  };
}

const node = (name: string, idle: boolean, free = {}) => ({ name, free, idle });

describe('autoscaler loop', () => {
  it('grows once for a group that waited past the delay, counts the queued satellite, and shrinks it whole after the idle timeout', async () => {
    const r = rig();
    // the 2 nodes are free: the group waits for 2 more nodes of its own
    const busy2 = { pending: [spread4], nodes: [node('n1', true, SHAPE), node('n2', true, SHAPE)], shape: SHAPE };
    await r.at(0, busy2);
    await r.at(4_000);
    expect(r.elastic.grows).toEqual([]);
    await r.at(5_000);
    expect(r.elastic.grows).toEqual([{ nodes: 2, reason: expect.stringContaining('placement group pg') }]);
    expect(r.events).toEqual([expect.stringMatching(/^grow by 2 nodes: placement group pg .* waited over 5 s/)]);
    // queued in Slurm: counted as coming, no second grow
    await r.at(6_000);
    await r.at(30_000);
    expect(r.elastic.grows).toHaveLength(1);
    // its nodes join, the group runs and ends: everything idle from t=40 s
    r.elastic.join('s1', ['n3', 'n4']);
    const idle4 = { pending: [], nodes: ['n1', 'n2', 'n3', 'n4'].map((n) => node(n, true, SHAPE)), shape: SHAPE };
    await r.at(40_000, idle4);
    await r.at(59_999);
    expect(r.elastic.shrinks).toEqual([]);
    await r.at(60_000);
    expect(r.elastic.shrinks).toEqual([{ satellite: 's1' }]);
    expect(r.events.at(-1)).toMatch(/^shrink s1: satellite s1 \(n3, n4\) idle for 20 s, over --idle-timeout 20 s/);
    // the main allocation stays, however long it idles
    await r.at(600_000, { ...idle4, nodes: idle4.nodes.slice(0, 2) });
    expect(r.elastic.shrinks).toHaveLength(1);
  });

  it('idle time starts over when a node gets work; a wait is recorded once per sentence', async () => {
    const r = rig();
    r.elastic.sats.push({
      id: 's1',
      state: 'joined',
      requested: 1,
      nodes: ['n3'],
      joined: ['n3'],
      submittedAt: '',
      reason: 'x',
    });
    const base = [node('n1', false), node('n2', false), node('n3', true, SHAPE)];
    await r.at(0, { pending: [], nodes: base, shape: SHAPE });
    await r.at(15_000, { pending: [], nodes: [...base.slice(0, 2), node('n3', false)], shape: SHAPE });
    await r.at(30_000, { pending: [], nodes: base, shape: SHAPE });
    await r.at(49_000);
    expect(r.elastic.shrinks).toEqual([]);
    await r.at(50_000);
    expect(r.elastic.shrinks).toEqual([{ satellite: 's1' }]);

    const big = { id: 'task:t', what: 'task t', bundles: [{ CPU: 5 }], placement: 'any' as const };
    await r.at(60_000, { pending: [big], nodes: base.slice(0, 2), shape: SHAPE });
    await r.at(70_000);
    await r.at(80_000);
    expect(r.events.filter((e) => e.startsWith('waits:'))).toEqual([
      expect.stringContaining('task t: it asks for more than one node of the granted shape holds (4 CPU)'),
    ]);
  });

  it('a grow Slurm refuses is said once and retried after a backoff, not every round', async () => {
    const r = rig();
    r.elastic.failGrow = 'sbatch: error: Invalid partition name specified';
    const v = { pending: [spread4], nodes: [node('n1', true, SHAPE), node('n2', true, SHAPE)], shape: SHAPE };
    await r.at(0, v);
    await r.at(10_000);
    await r.at(20_000);
    await r.at(39_999);
    expect(r.elastic.grows).toHaveLength(1);
    expect(r.events).toEqual([
      expect.stringMatching(/^grow by 2/),
      'grow failed: sbatch: error: Invalid partition name specified; next try in 30 s',
    ]);
    await r.at(40_000);
    expect(r.elastic.grows).toHaveLength(2);
  });

  it('a satellite that fails after sbatch took it backs growing off too, said once', async () => {
    const r = rig();
    const v = { pending: [spread4], nodes: [node('n1', true, SHAPE), node('n2', true, SHAPE)], shape: SHAPE };
    await r.at(0, v);
    await r.at(5_000);
    expect(r.elastic.grows).toHaveLength(1);
    Object.assign(r.elastic.sats[0]!, { state: 'failed', why: 'its nodes never joined' });
    await r.at(6_000);
    await r.at(35_999);
    expect(r.elastic.grows).toHaveLength(1);
    expect(r.events.filter((e) => e.includes('failed'))).toEqual([
      'satellite s1 failed (its nodes never joined); next grow in 30 s at the earliest',
    ]);
    await r.at(36_000);
    expect(r.elastic.grows).toHaveLength(2);
  });

  it("a node the registry has but the runtime's (older) reading lacks counts as there and empty: no second grow (seen with Ray's 1 s reading)", async () => {
    const r = rig();
    const v = { pending: [spread4], nodes: [node('n1', true, SHAPE), node('n2', true, SHAPE)], shape: SHAPE };
    await r.at(0, v);
    await r.at(5_000);
    expect(r.elastic.grows.map((g) => g.nodes)).toEqual([2]);
    // one of the satellite's nodes joined; the reading is from before it did
    Object.assign(r.elastic.sats[0]!, { state: 'joining', nodes: ['n3', 'n4'], joined: ['n3'] });
    r.setMembers(['n1', 'n2', 'n3']);
    await r.at(6_000);
    expect(r.elastic.grows.map((g) => g.nodes)).toEqual([2]);
    // a node the registry no longer has is not counted from a stale reading either
    r.setMembers(['n1', 'n3']);
    await r.at(7_000);
    expect(r.elastic.grows.map((g) => g.nodes)).toEqual([2, 1]);
  });

  it('no shape yet (no node told its resources): no grow', async () => {
    const r = rig();
    await r.at(0, { pending: [spread4], nodes: [] });
    await r.at(60_000);
    expect(r.elastic.grows).toEqual([]);
  });

  it('runs on its own timer and stops cleanly', async () => {
    let reads = 0;
    const scaler = new Autoscaler({
      limits: { maxNodes: 2, idleTimeoutMs: 1, scaleUpDelayMs: 0 },
      elastic: new MemElastic(),
      read: () => (reads++, undefined),
      members: () => [],
      now: Date.now,
      record: () => {},
      log: () => {},
      everyMs: 5,
    });
    scaler.start();
    const deadline = Date.now() + 5000;
    while (reads < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    await scaler.stop();
    const after = reads;
    await new Promise((res) => setTimeout(res, 30));
    expect(after).toBeGreaterThanOrEqual(3);
    expect(reads).toBe(after);
  });
});
