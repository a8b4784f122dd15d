/**
 * The autoscaler (--max-nodes): once a second it reads the runtime's waiting work and node use
 * (the builtin scheduler's pending queue; Ray's GCS), runs the pure policy (core/autoscale.ts) and
 * acts on its decisions through the Elastic seam: grow submits a satellite, shrink drains one. Every
 * decision goes into the timeline with its reason; a "wait" only when its sentence changed.
 *
 * One round at a time: a grow is awaited (the satellite then counts as coming in the next round);
 * a shrink runs in the background, its satellite counted as draining until it is gone. A grow that
 * fails (sbatch refused it) is said once and retried after a backoff (30 s doubling to 5 min), not
 * every second (a failed shrink likewise, after 30 s). stop() (a teardown step pushed after the elastic's own, so it runs first) ends the
 * loop and the runtime's reader before the satellites are cancelled.
 */
import {
  autoscale,
  SinceTracker,
  type AutoscaleDecision,
  type AutoscaleLimits,
  type NodeUse,
  type Resources,
  type SatelliteUse,
} from '../core/autoscale.js';
import type { DemandView } from '../runtimes/types.js';
import type { Elastic, SatelliteInfo } from './elastic.js';

export interface AutoscalerDeps {
  limits: AutoscaleLimits;
  elastic: Elastic;
  /** The newest demand, or undefined while the runtime does not answer. */
  read: () => DemandView | undefined;
  /**
   * Every node in the cluster now (raysl's own registry): the truth of who is there. The runtime's
   * view may lag (Ray's is read once a second): a node that joined since counts as there and empty.
   */
  members: () => readonly string[];
  now: () => number;
  /** A timeline event (phase 'autoscale') with this detail. */
  record: (detail: string) => void;
  log: (line: string) => void;
  /** How long running work gets on a satellite being shrunk (it is idle: normally nothing runs). */
  drainTimeoutMs?: number;
  everyMs?: number;
}

const BACKOFF_MIN_MS = 30_000;
const BACKOFF_MAX_MS = 300_000;

/** The elastic's satellites as the policy counts them; ended ones drop out. */
function satelliteUse(sats: readonly SatelliteInfo[], shrinking: ReadonlySet<string>): SatelliteUse[] {
  const out: SatelliteUse[] = [];
  for (const s of sats) {
    const state =
      shrinking.has(s.id) || s.state === 'draining'
        ? 'draining'
        : s.state === 'queued'
          ? 'queued'
          : s.state === 'joining' || s.state === 'joined'
            ? 'running'
            : undefined;
    if (state !== undefined) out.push({ id: s.id, nodes: s.requested, joined: s.joined, state });
  }
  return out;
}

/** One round's input: waits and idle times tracked here when the runtime does not say them. */
function roundInput(
  reading: DemandView & { shape: Resources },
  members: readonly string[],
  sats: readonly SatelliteInfo[],
  shrinking: ReadonlySet<string>,
  trackers: { waits: SinceTracker; idle: SinceTracker },
  nowMs: number,
) {
  const here = new Set(members);
  const seen = new Set(reading.nodes.map((n) => n.name));
  // the registry decides who is there: a node the runtime has not listed yet is new, hence empty and not idle
  const nodesNow: DemandView['nodes'] = [
    ...reading.nodes.filter((n) => here.has(n.name)),
    ...members.filter((m) => !seen.has(m)).map((name) => ({ name, free: reading.shape, idle: false })),
  ];
  const view = { ...reading, nodes: nodesNow };
  const waits = trackers.waits.observe(
    nowMs,
    view.pending.map((p) => p.id),
  );
  const idle = trackers.idle.observe(
    nowMs,
    view.nodes.filter((n) => n.idle && n.idleMs === undefined).map((n) => n.name),
  );
  const owner = new Map<string, string>();
  for (const s of sats) for (const n of [...s.nodes, ...s.joined]) owner.set(n, s.id);
  const nodes: NodeUse[] = view.nodes.map((n) => ({
    name: n.name,
    free: n.free,
    idleMs: !n.idle ? 0 : (n.idleMs ?? idle.get(n.name) ?? 0),
    ...(owner.has(n.name) ? { satellite: owner.get(n.name)! } : {}),
  }));
  return {
    pending: view.pending.map((p) => ({ ...p, waitedMs: waits.get(p.id) ?? 0 })),
    nodes,
    satellites: satelliteUse(sats, shrinking),
  };
}

export class Autoscaler {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly shrinking = new Set<string>();
  private readonly shrinks = new Set<Promise<void>>();
  private readonly trackers = { waits: new SinceTracker(), idle: new SinceTracker() };
  private lastWait: string | undefined;
  private growBlockedUntil = 0;
  private backoffMs = BACKOFF_MIN_MS;
  private saidNoShape = false;
  /** Satellites whose shrink failed, and until when they are left alone. */
  private readonly shrinkFailed = new Map<string, number>();
  private readonly failedSeen = new Set<string>();

  constructor(private readonly deps: AutoscalerDeps) {}

  start(): void {
    this.schedule();
  }

  /** Ends the loop (the round in flight finishes first) and waits for shrinks under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    await Promise.allSettled([...this.shrinks]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.once().catch((err: unknown) =>
        this.deps.log(`autoscale: round failed: ${(err as Error).message}`),
      );
      void this.round.then(() => this.schedule());
    }, this.deps.everyMs ?? 1000);
  }

  /** One round: read, decide, act. Exposed for tests that drive rounds themselves. */
  async once(): Promise<void> {
    const view = this.deps.read();
    if (view === undefined || this.stopped) return;
    if (view.shape === undefined) {
      if (!this.saidNoShape && view.pending.length > 0)
        this.deps.log('autoscale: no node has told its resources yet: waiting before growing');
      this.saidNoShape = true;
      return;
    }
    const now = this.deps.now();
    const sats = this.deps.elastic.satellites();
    this.backOffFailed(sats, now);
    const round = roundInput(
      { ...view, shape: view.shape },
      this.deps.members(),
      sats,
      this.shrinking,
      this.trackers,
      now,
    );
    const decisions = autoscale({ ...round, shape: view.shape, limits: this.deps.limits });
    for (const d of decisions) await this.act(d, now);
  }

  /** A satellite that failed (never joined, Slurm refused it later) backs growing off as a refused grow does. */
  private backOffFailed(sats: readonly SatelliteInfo[], now: number): void {
    for (const s of sats) {
      if (s.state !== 'failed' || this.failedSeen.has(s.id)) continue;
      this.failedSeen.add(s.id);
      this.growBlockedUntil = now + this.backoffMs;
      this.deps.record(
        `satellite ${s.id} failed${s.why ? ` (${s.why})` : ''}; next grow in ${Math.round(this.backoffMs / 1000)} s at the earliest`,
      );
      this.backoffMs = Math.min(2 * this.backoffMs, BACKOFF_MAX_MS);
    }
  }

  private async act(d: AutoscaleDecision, now: number): Promise<void> {
    if (d.kind === 'wait') {
      if (d.reason !== this.lastWait) this.deps.record(`waits: ${d.reason}`);
      this.lastWait = d.reason;
      return;
    }
    this.lastWait = undefined;
    if (d.kind === 'grow') {
      if (now < this.growBlockedUntil) return;
      this.deps.record(`grow by ${d.nodes} node${d.nodes === 1 ? '' : 's'}: ${d.reason}`);
      try {
        const sat = await this.deps.elastic.grow({ nodes: d.nodes, reason: d.reason }, d.reason);
        this.deps.log(
          `autoscale: satellite ${sat.id}${sat.slurmJobId ? ` (Slurm job ${sat.slurmJobId})` : ''} asked for ${d.nodes} node(s)`,
        );
        this.backoffMs = BACKOFF_MIN_MS;
      } catch (err) {
        // the refused satellite is marked failed: said here, not again by backOffFailed
        for (const s of this.deps.elastic.satellites()) if (s.state === 'failed') this.failedSeen.add(s.id);
        this.growBlockedUntil = now + this.backoffMs;
        this.deps.record(`grow failed: ${(err as Error).message}; next try in ${Math.round(this.backoffMs / 1000)} s`);
        this.backoffMs = Math.min(2 * this.backoffMs, BACKOFF_MAX_MS);
      }
      return;
    }
    if (now < (this.shrinkFailed.get(d.satellite) ?? 0)) return;
    this.deps.record(`shrink ${d.satellite}: ${d.reason}`);
    this.shrinking.add(d.satellite);
    const done = this.deps.elastic
      .shrink({ satellite: d.satellite }, d.reason, this.deps.drainTimeoutMs ?? 30_000)
      .catch((err: unknown) => {
        this.shrinkFailed.set(d.satellite, this.deps.now() + BACKOFF_MIN_MS);
        this.deps.record(
          `shrink ${d.satellite} failed: ${(err as Error).message}; next try in ${BACKOFF_MIN_MS / 1000} s`,
        );
      })
      .finally(() => {
        this.shrinking.delete(d.satellite);
        this.shrinks.delete(done);
      });
    this.shrinks.add(done);
  }
}
