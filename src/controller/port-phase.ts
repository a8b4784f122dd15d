/**
 * The probe phase (DESIGN.md "Ports"): before any runtime starts, every agent bind-probes the job's
 * block and reports (`probed`); only when every node that can still join has reported a clean
 * probe does the controller tell them to `start`. A port taken on any node moves the whole job to
 * the next free block (allocatePortBlock with the failed blocks added to `taken`), the move is
 * recorded, and every agent probes again (`probe`), up to maxAttempts blocks; then the job fails
 * with exit 4 naming each taken port, its node and its holder.
 *
 * The control server stays on the port it first bound: agents already hold its address (the
 * launcher put it on their command line), so a moved block leaves its own controller slot unused.
 *
 * The barrier: a round is decided once every node that has not failed reported. Below the node
 * count (--min-nodes < -N), it is also decided `straggleMs` after min reports arrived, so a node
 * that never comes does not hold the others back; such a late node probes the settled block when
 * it arrives and is turned away if a port of it is taken there (the job cannot move any more).
 */
import { ClusterFormError, asRayslError, type RayslError } from '../core/errors.js';
import type { PortBlock, PortLayout } from '../core/types.js';
import { formatBlock, portsOf, rangesOf } from '../core/ports.js';
import type { AgentRegistry, AgentSlot } from './agents.js';
import type { Probed, Start, TakenPort } from '../protocol/agent.js';

export interface PortPhaseOptions {
  agents: AgentRegistry;
  minNodes: number;
  first: PortBlock;
  layout: PortLayout;
  /** Blocks tried in all, the first one included. */
  maxAttempts: number;
  /** The next block once the `failed` ones are out (allocatePortBlock with them added to taken). */
  next: (failed: PortBlock[]) => PortBlock;
  /** Makes a moved block the job's record (ports.json, the launcher's record, status.json). */
  record: (block: PortBlock) => Promise<void>;
  /** The ports `slot` probes in `block`. */
  probeFor: (slot: AgentSlot, block: PortBlock) => number[];
  /** The port base `slot` uses in `block` (its own slice when nodes share one port space). */
  baseFor: (slot: AgentSlot, block: PortBlock) => number;
  /** What `start` says to a slot; may wait (with --iface, workers wait for the head's probe to learn its address). */
  startFor: (slot: AgentSlot) => Promise<Omit<Start, 't' | 'round'>>;
  log: (line: string) => void;
  straggleMs: number;
}

interface TakenOnNode {
  node: string;
  address: string;
  taken: TakenPort;
}

export class PortPhase {
  private block: PortBlock;
  private round = 0;
  private readonly reports = new Map<string, Probed>();
  private readonly tried: PortBlock[] = [];
  private decided = false;
  private deciding = false;
  private recording: Promise<void> = Promise.resolve();
  private straggleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private reject: (e: RayslError) => void = () => {};
  /** Rejects (ClusterFormError) when every block tried had a taken port; never resolves. */
  readonly failed: Promise<never>;

  constructor(private readonly o: PortPhaseOptions) {
    this.block = o.first;
    this.failed = new Promise<never>((_, rej) => (this.reject = rej));
    this.failed.catch(() => {});
    o.agents.on('probed', (node, report) => this.onProbed(node, report));
    o.agents.on('failed', () => this.check());
  }

  /** The block the job is on now (the one to record, and to give the entrypoint once started). */
  current(): PortBlock {
    return this.block;
  }

  /** What a newly connected agent probes first: the current round's block. */
  welcomeFor(slot: AgentSlot): { round: number; portBase: number; probe: number[] } {
    return { round: this.round, portBase: this.o.baseFor(slot, this.block), probe: this.o.probeFor(slot, this.block) };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.straggleTimer);
  }

  private slot(node: string): AgentSlot | undefined {
    return this.o.agents.slot(node);
  }

  private onProbed(node: string, report: Probed): void {
    if (this.closed || report.round !== this.round) return; // stale: a `probe` for this round is on its way
    const slot = this.slot(node);
    // a satellite's nodes probe their own block (satellites.ts)
    if (!slot || slot.satellite !== undefined) return;
    if (this.decided) {
      // a latecomer: the job already settled on this block and cannot move without it
      if (report.taken.length === 0) this.start(slot);
      else
        this.o.agents.refuse(
          node,
          `${describeTaken(this.takenOf([[node, report]]), this.o.layout, this.block)} (the job had already settled on ports ${formatBlock(this.block)})`,
        );
      return;
    }
    this.reports.set(node, report);
    this.o.agents.setNote(node, `probed ports ${formatBlock(this.block)}, waiting for the other nodes' probes`);
    this.check();
  }

  private check(): void {
    if (this.closed || this.decided || this.deciding || this.reports.size === 0) return;
    // per report: counts only (a walk over every node per report made N reports O(N^2)); the walk
    // runs only once there are as many reports as live nodes
    const total = this.o.agents.size();
    const live = total - this.o.agents.countIn(['failed', 'lost']);
    if (
      this.reports.size >= live &&
      this.o.agents
        .slots()
        .every(
          (s) =>
            this.reports.has(s.name) || ['failed', 'lost'].includes(this.o.agents.stateOf(s.name)?.state ?? 'failed'),
        )
    )
      return void this.decide();
    if (this.reports.size >= this.o.minNodes && this.o.minNodes < total && this.straggleTimer === undefined) {
      const round = this.round;
      this.straggleTimer = setTimeout(() => {
        if (this.round === round) void this.decide();
      }, this.o.straggleMs);
      this.straggleTimer.unref();
    }
  }

  private takenOf(reports: Array<[string, Probed]>): TakenOnNode[] {
    return reports.flatMap(([node, r]) =>
      r.taken.map((taken) => ({ node, address: this.slot(node)?.address ?? '?', taken })),
    );
  }

  private async decide(): Promise<void> {
    this.deciding = true;
    clearTimeout(this.straggleTimer);
    this.straggleTimer = undefined;
    try {
      await this.recording;
    } catch (err) {
      return this.fail(asRayslError(err));
    }
    if (this.closed) return;
    const taken = this.takenOf([...this.reports]);
    if (taken.length === 0) {
      this.decided = true;
      this.deciding = false;
      for (const node of this.reports.keys()) {
        const slot = this.slot(node);
        if (slot) this.start(slot);
      }
      return;
    }
    const from = this.block;
    this.tried.push(from);
    if (this.tried.length >= this.o.maxAttempts) return this.fail(this.exhausted(taken));
    let to: PortBlock;
    try {
      to = this.o.next(this.tried);
    } catch (err) {
      const e = asRayslError(err);
      return this.fail(
        new ClusterFormError(
          `the cluster did not form: ${describeTaken(taken, this.o.layout, from)}, and no other port block is free: ${e.message}`,
          { ...(e.hint ? { hint: e.hint } : {}) },
        ),
      );
    }
    const first = taken[0] as TakenOnNode;
    const more =
      taken.length > 1
        ? ` (+${taken.length - 1} more taken port(s) on ${new Set(taken.map((t) => t.node)).size} node(s))`
        : '';
    this.o.log(
      `${describeOne(first, this.o.layout, from, 'short')}${more}: moving the job to block ${formatBlock(to)}`,
    );
    this.block = to;
    this.round++;
    this.reports.clear();
    this.deciding = false;
    // probes first (they take the longest), the record meanwhile; a decision waits for the record
    for (const node of this.o.agents.welcomedNodes()) {
      const slot = this.slot(node);
      if (!slot) continue;
      this.o.agents.setNote(node, `probing ports ${formatBlock(to)}`);
      this.o.agents.send(node, {
        t: 'probe',
        round: this.round,
        portBase: this.o.baseFor(slot, to),
        probe: this.o.probeFor(slot, to),
      });
    }
    this.recording = this.o.record(to);
    this.recording.catch((err: unknown) => this.fail(asRayslError(err)));
  }

  private start(slot: AgentSlot): void {
    const round = this.round;
    this.o.agents.setNote(slot.name, `its ports ${formatBlock(this.block)} are free, waiting to be told to start`);
    void this.o.startFor(slot).then((s) => {
      if (this.closed || round !== this.round) return;
      this.o.agents.setNote(slot.name, undefined);
      this.o.agents.send(slot.name, { t: 'start', round, ...s });
    });
  }

  private exhausted(taken: TakenOnNode[]): ClusterFormError {
    return new ClusterFormError(
      `the cluster did not form: a port was taken in each of the ${this.tried.length} port block(s) tried (${this.tried.map(formatBlock).join(', ')}); in the last one: ${describeTaken(taken, this.o.layout, this.tried.at(-1) as PortBlock)}`,
      {
        hint: 'run `raysl check-ports` to see who holds these ports; stop the holders or pick other nodes (-w/--exclude)',
        details: {
          blocks: this.tried.map(formatBlock),
          taken: taken.map((t) => ({ node: t.node, address: t.address, ...t.taken })),
        },
      },
    );
  }

  private fail(e: RayslError): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.straggleTimer);
    this.reject(e);
  }
}

/** The name a port has in the layout ("agent", "gcs", "worker-ports"), when it has one. */
function portName(port: number, block: PortBlock, layout: PortLayout): string | undefined {
  for (const [name, p] of Object.entries(portsOf(block.base, layout))) if (p === port) return name;
  for (const [name, [a, b]] of Object.entries(rangesOf(block.base, layout))) if (port >= a && port <= b) return name;
  return undefined;
}

function describeOne(t: TakenOnNode, layout: PortLayout, block: PortBlock, style: 'short' | 'long'): string {
  const name = portName(t.taken.port, block, layout);
  const label = `port ${t.taken.port}${name ? ` (${name})` : ''}`;
  const how = t.taken.reason === 'permission' ? 'not ours to bind' : 'taken';
  const holder = t.taken.holder
    ? ` by pid ${t.taken.holder.pid} (${t.taken.holder.command})`
    : t.taken.reason === 'in-use'
      ? ' (holder not visible)'
      : '';
  return style === 'short'
    ? `${label} ${how} on ${t.node}${holder}`
    : `${label} ${how} on ${t.node} (${t.address})${holder}`;
}

const LISTED = 8;

/** Each taken port with its node and holder; a long list is cut after LISTED entries. */
function describeTaken(taken: TakenOnNode[], layout: PortLayout, block: PortBlock): string {
  const shown = taken.slice(0, LISTED).map((t) => describeOne(t, layout, block, 'long'));
  return shown.join('; ') + (taken.length > LISTED ? `; and ${taken.length - LISTED} more` : '');
}
