/**
 * Join tracking over the agents' live connections. Each agent holds one upgraded socket speaking
 * newline-delimited JSON (protocol.ts): hello -> welcome -> probed (-> probe -> probed)* -> start ->
 * ready; the probe phase itself is run by port-phase.ts over the 'probed' events. A socket that closes is a lost
 * node at once; nothing polls. The runtime's own messages (`rt`) pass through to its controller
 * half unread.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { within } from '../proc/terminate.js';
import type { StopSignal } from '../proc/signals.js';
import {
  encodeMessage,
  parseAgentMessage,
  type AgentMessage,
  type ControllerMessage,
  type NodeInfo,
  type Probed,
  type Welcome,
} from '../protocol/agent.js';
import { LineDecoder } from '../protocol/wire.js';

export interface AgentSlot {
  name: string;
  role: 'head' | 'worker';
  address: string;
  log: string;
  /** The satellite (s1, s2, ...) this node came with; absent for a node of the job's own allocation. */
  satellite?: string;
}

type SlotState = 'pending' | 'connected' | 'joined' | 'failed' | 'lost' | 'stopped';

interface Live {
  slot: AgentSlot;
  state: SlotState;
  socket?: Socket;
  pid?: number;
  info?: NodeInfo;
  reason?: string;
  /** The agent's own hint for its failure (e.g. how to make Ray available). */
  hint?: string;
  welcomed?: boolean;
  /** What a connected node is waiting for (named in the join error if it never joins). */
  note?: string;
  /** Asked to leave (shrink): its channel closing is a departure, not a loss. */
  leaving?: string;
  /** Why its channel will close (a satellite's agent told us Slurm signalled it). */
  gone?: string;
}

export interface AgentEvents {
  joined: [info: NodeInfo, notes: string[]];
  failed: [node: string, reason: string];
  lost: [node: string, reason: string];
  /** The node's agent received a stop signal: its channel closes next, and that is no failure. */
  signalled: [node: string, signal: StopSignal];
  connected: [node: string, pid: number];
  probed: [node: string, report: Probed];
  /** A message of the node's runtime half, for the runtime's controller half. */
  rt: [node: string, body: unknown];
  /** A node asked to leave (release) is gone: its agent stopped as told. */
  left: [node: string, reason: string];
}

export class AgentRegistry extends EventEmitter<AgentEvents> {
  private readonly live = new Map<string, Live>();
  /** Nodes per state, kept as they change: join checks run per join and must not walk every node. */
  private readonly counts = new Map<SlotState, number>();
  private stopping = false;

  constructor(
    slots: AgentSlot[],
    /** May wait (a worker's welcome waits for the head when the runtime needs the head first). */
    private readonly welcomeFor: (slot: AgentSlot) => Welcome | Promise<Welcome>,
  ) {
    super();
    for (const slot of slots) this.live.set(slot.name, { slot, state: 'pending' });
    this.counts.set('pending', slots.length);
  }

  private setState(l: Live, state: SlotState): void {
    this.counts.set(l.state, (this.counts.get(l.state) ?? 0) - 1);
    this.counts.set(state, (this.counts.get(state) ?? 0) + 1);
    l.state = state;
  }

  /** Takes over an upgraded socket (token already checked by the server). */
  attach(socket: Socket): void {
    socket.setNoDelay(true);
    const decoder = new LineDecoder();
    // http sockets refuse setEncoding; a StringDecoder keeps multi-byte characters whole across chunks
    const text = new StringDecoder('utf8');
    let me: Live | undefined;
    const send = (m: ControllerMessage) => {
      if (!socket.destroyed) socket.write(encodeMessage(m));
    };
    socket.on('data', (chunk: Buffer) => {
      let messages: AgentMessage[];
      try {
        messages = decoder.push(text.write(chunk)).map(parseAgentMessage);
      } catch (err) {
        send({ t: 'refuse', reason: `protocol error: ${(err as Error).message}` });
        socket.destroy();
        return;
      }
      for (const m of messages) {
        if (m.t === 'hello') {
          const l = this.live.get(m.node);
          if (!l) {
            send({
              t: 'refuse',
              reason: `node ${m.node} is not part of this job (${[...this.live.keys()].join(', ')})`,
            });
            socket.end();
            return;
          }
          if (l.state !== 'pending' || this.stopping) {
            send({
              t: 'refuse',
              reason: this.stopping
                ? 'the job is shutting down'
                : `an agent for ${m.node} is already registered (${l.state})`,
            });
            socket.end();
            return;
          }
          me = l;
          this.setState(l, 'connected');
          l.socket = socket;
          l.pid = m.pid;
          this.emit('connected', l.slot.name, m.pid);
          const slot = l.slot;
          void Promise.resolve(this.welcomeFor(slot)).then((w) => {
            if (this.stopping || l.socket !== socket) return;
            l.welcomed = true;
            send(w);
          });
        } else if (!me) {
          send({ t: 'refuse', reason: `expected hello first, got ${m.t}` });
          socket.destroy();
          return;
        } else if (m.t === 'probed') {
          if (me.state === 'connected') this.emit('probed', me.slot.name, m);
        } else if (m.t === 'ready') {
          this.setState(me, 'joined');
          me.info = { ...m.node, name: me.slot.name, role: me.slot.role };
          this.emit('joined', me.info, m.notes ?? []);
        } else if (m.t === 'fail') {
          if (m.hint) me.hint = m.hint;
          this.markFailed(me, m.reason);
        } else if (m.t === 'rt') {
          if (me.state === 'joined') this.emit('rt', me.slot.name, m.body);
        } else if (m.t === 'signalled') {
          if (me.slot.satellite !== undefined && !this.stopping && me.leaving === undefined) {
            // a satellite is a Slurm job of its own: its nodes going away is a loss the cluster survives
            me.gone = `its satellite ${me.slot.satellite} was stopped by Slurm (${m.signal} to its agents: scancel, its time limit or a preemption)`;
            this.emit('signalled', me.slot.name, m.signal);
          } else if (!this.stopping && me.state !== 'failed' && me.state !== 'lost') {
            this.setState(me, 'stopped');
            this.emit('signalled', me.slot.name, m.signal);
          }
        } else if (m.t === 'runtime-exited') {
          if (me.leaving !== undefined) this.markGone(me, me.leaving);
          else
            this.markGone(
              me,
              `its runtime exited (code ${m.code ?? 'none'}, signal ${m.signal ?? 'none'})${m.detail !== undefined ? `: ${m.detail.slice(0, 500)}` : ''}`,
            );
        }
      }
    });
    const onClose = () => {
      if (me)
        this.markGone(
          me,
          this.stopping
            ? 'stopped'
            : (me.gone ?? 'its agent disconnected (the agent process exited or the node went away)'),
        );
    };
    socket.on('close', onClose);
    // the http server's sockets are half-open capable: the agent's FIN alone never emits 'close'
    socket.on('end', () => socket.destroy());
    socket.on('error', () => socket.destroy());
  }

  private markFailed(l: Live, reason: string): void {
    if (l.state === 'failed') return;
    const wasJoined = l.state === 'joined';
    this.setState(l, wasJoined ? 'lost' : 'failed');
    l.reason = reason;
    // the log line carries the agent's hint too; the join report keeps them apart
    const told = l.hint ? `${reason} (${l.hint})` : reason;
    if (wasJoined) this.emit('lost', l.slot.name, told);
    else this.emit('failed', l.slot.name, told);
  }

  private markGone(l: Live, reason: string): void {
    if (l.leaving !== undefined && !this.stopping) {
      if (l.state === 'stopped') return;
      this.setState(l, 'stopped');
      this.emit('left', l.slot.name, l.leaving);
      return;
    }
    if (this.stopping) {
      if (l.state !== 'failed') this.setState(l, 'stopped');
      return;
    }
    if (l.state === 'joined') {
      this.setState(l, 'lost');
      l.reason = reason;
      this.emit('lost', l.slot.name, reason);
    } else if (l.state === 'connected' || l.state === 'pending') {
      this.markFailed(l, reason);
    }
  }

  /** Marks a node that never connected as failed (e.g. its agent process exited before hello). */
  agentExited(node: string, how: string): void {
    const l = this.live.get(node);
    if (l && (l.state === 'pending' || l.state === 'connected'))
      this.markFailed(l, `its agent exited before joining (${how})`);
    else if (l && l.state === 'joined' && !this.stopping) this.markGone(l, `its agent exited (${how})`);
  }

  /** Satellite nodes join a running cluster: their slots are added once Slurm placed them (a node that left may come back). */
  addSlots(slots: AgentSlot[]): void {
    for (const slot of slots) {
      const before = this.live.get(slot.name);
      // a node that left (shrunk, lost) may come back with a later satellite
      if (before && !['stopped', 'failed', 'lost'].includes(before.state))
        throw new Error(`node ${slot.name} is already part of this job`);
      if (before) this.counts.set(before.state, (this.counts.get(before.state) ?? 0) - 1);
      this.live.set(slot.name, { slot, state: 'pending' });
      this.counts.set('pending', (this.counts.get('pending') ?? 0) + 1);
    }
  }

  /** From now on this node's channel closing (or its runtime exiting) is a departure ('left'), not a loss. */
  markLeaving(node: string, reason: string): void {
    const l = this.live.get(node);
    if (l) l.leaving = reason;
  }

  /**
   * Tells one node's agent to stop (shrink): its channel closing then is a departure ('left'),
   * not a lost node; resolves once it closed or the bound passed. A node without a live agent is
   * marked gone at once.
   */
  async release(node: string, reason: string, boundMs: number): Promise<void> {
    const l = this.live.get(node);
    if (!l || l.state === 'stopped' || l.state === 'failed' || l.state === 'lost') return;
    l.leaving = reason;
    const s = l.socket;
    if (!s || s.destroyed) return this.markGone(l, reason);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write(encodeMessage({ t: 'stop', reason }));
    if ((await within(closed, boundMs)) === 'timeout') s.destroy();
  }

  joinedNodes(): NodeInfo[] {
    return [...this.live.values()].filter((l) => l.state === 'joined' && l.info).map((l) => l.info as NodeInfo);
  }

  stateOf(node: string): { state: SlotState; reason?: string; pid?: number } | undefined {
    const l = this.live.get(node);
    return l
      ? { state: l.state, ...(l.reason ? { reason: l.reason } : {}), ...(l.pid ? { pid: l.pid } : {}) }
      : undefined;
  }

  slots(): AgentSlot[] {
    return [...this.live.values()].map((l) => l.slot);
  }

  /** Nodes that have not joined: [name, why]. */
  missing(): Array<{ slot: AgentSlot; state: SlotState; reason?: string; hint?: string }> {
    return [...this.live.values()]
      .filter((l) => l.state !== 'joined')
      .map((l) => {
        const reason = l.reason ?? (l.state === 'connected' ? l.note : undefined);
        return { slot: l.slot, state: l.state, ...(reason ? { reason } : {}), ...(l.hint ? { hint: l.hint } : {}) };
      });
  }

  /** Failed nodes can never join: the job cannot reach min once this many are gone. */
  countIn(states: SlotState[]): number {
    return states.reduce((n, st) => n + (this.counts.get(st) ?? 0), 0);
  }

  joinedCount(): number {
    return this.counts.get('joined') ?? 0;
  }

  size(): number {
    return this.live.size;
  }

  slot(node: string): AgentSlot | undefined {
    return this.live.get(node)?.slot;
  }

  /** Sends to a connected agent; false when it has no live socket (gone, or never connected). */
  send(node: string, m: ControllerMessage): boolean {
    const s = this.live.get(node)?.socket;
    if (!s || s.destroyed || this.stopping) return false;
    s.write(encodeMessage(m));
    return true;
  }

  /** Nodes whose agent is connected, welcomed and not yet joined (the ones a probe round asks). */
  welcomedNodes(): string[] {
    return [...this.live.values()]
      .filter((l) => l.state === 'connected' && l.welcomed && l.socket && !l.socket.destroyed)
      .map((l) => l.slot.name);
  }

  setNote(node: string, note: string | undefined): void {
    const l = this.live.get(node);
    if (!l) return;
    if (note === undefined) delete l.note;
    else l.note = note;
  }

  /** The controller turns a connected node away (e.g. its ports are taken after the job settled). */
  refuse(node: string, reason: string): void {
    const l = this.live.get(node);
    if (!l || (l.state !== 'connected' && l.state !== 'pending')) return;
    const s = l.socket;
    this.markFailed(l, reason);
    if (s && !s.destroyed) {
      s.write(encodeMessage({ t: 'refuse', reason }));
      s.end();
    }
  }

  /**
   * From now on an agent that goes away was stopped, not lost: the job is ending (also when a second
   * signal KILLs the agents before they were told to stop).
   */
  shuttingDown(): void {
    this.stopping = true;
  }

  /** Tells every connected agent to stop; resolves when their sockets closed or the bound passed. */
  async stopAll(reason: string, boundMs: number): Promise<void> {
    this.shuttingDown();
    const all = [...this.live.values()];
    // every node at once: the job is over, so no worker needs its head any more (stopping workers
    // first doubled the teardown of a Ray job: each node's Ray takes about a second to stop)
    const closing: Array<Promise<void>> = [];
    for (const l of all) {
      const s = l.socket;
      if (!s || s.destroyed) continue;
      closing.push(new Promise<void>((r) => s.once('close', () => r())));
      s.write(encodeMessage({ t: 'stop', reason }));
    }
    if (closing.length > 0) await within(Promise.all(closing), boundMs);
    for (const l of all) l.socket?.destroy();
  }
}
