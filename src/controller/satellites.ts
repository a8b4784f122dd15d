/**
 * Satellites: the controller's side of an elastic cluster (the Elastic seam, elastic.ts). A
 * satellite is a Slurm job of its own that runs only agents: the controller renders its script,
 * sbatch's it and records it; its batch step (`raysl satellite`) reports its nodes, gets a port
 * block of its own (other raysl jobs may hold the job's block there), and starts an agent on each
 * node. Those agents join with the job's token like any node, probe the satellite's block and
 * start their runtime pointed at the head; the runtime's controller half gets them through the
 * registry's join events. Losing a satellite's node is an expected event (agent-reports.ts keeps
 * the job going); shrinking drains first (the runtime places nothing new there), then stops the
 * agents and ends the satellite. At teardown every satellite still in Slurm is cancelled.
 */
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocatePortBlock, formatBlock } from '../core/ports.js';
import { withPhase } from '../core/status.js';
import type { NodeResources, PortBlock } from '../core/types.js';
import type { Start } from '../protocol/agent.js';
import type { GrowRequest, SatelliteInfo, SatelliteStarted, SatelliteState } from '../protocol/elastic.js';
import { HttpError } from '../protocol/http.js';
import { within } from '../proc/terminate.js';
import { renderSatelliteScript } from '../render/satellite.js';
import type { ControllerHalf } from '../runtimes/types.js';
import { fileModeFor } from '../jobdir/modes.js';
import type { StatusFile } from '../jobdir/status-file.js';
import type { AgentRegistry, AgentSlot } from './agents.js';
import type { Elastic, ElasticEvents, SatelliteSlurm, ShrinkTarget } from './elastic.js';
import type { Job } from './job.js';

/** Default time a drained node's running work gets before it is stopped (and retried elsewhere). */
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const FINAL: readonly SatelliteState[] = ['ended', 'cancelled', 'failed', 'lost'];
/** Slurm is asked about queued satellites (a scancel in the queue tells nobody else) with this backoff. */
const WATCH_FIRST_MS = 500;
const WATCH_MAX_MS = 5_000;

export interface SatellitesDeps {
  job: Job;
  agents: AgentRegistry;
  status: StatusFile;
  controllerAddress: string;
  /** Absent under the local launcher: grow is refused there. */
  slurm: SatelliteSlurm | undefined;
  half: ControllerHalf | undefined;
  /** What `start` tells a satellite's agent: where the head's runtime listens. */
  startFor: (slot: AgentSlot) => Promise<Omit<Start, 't' | 'round'>>;
  /** The node binary and the raysl bundle as this controller runs them (the satellite runs the same). */
  node: string;
  raysl: string;
}

interface Sat {
  info: SatelliteInfo;
  req: GrowRequest;
  expected: NodeResources;
  block?: PortBlock;
  /** Its agents said Slurm signalled them (scancel, its time limit): its end is a cancel. */
  signalled?: boolean;
  waiters: Array<() => void>;
}

export class Satellites extends EventEmitter<ElasticEvents> implements Elastic {
  private readonly sats: Sat[] = [];
  private formed = false;
  private closing = false;
  private watchTimer: NodeJS.Timeout | undefined;
  private watchMs = WATCH_FIRST_MS;

  constructor(private readonly d: SatellitesDeps) {
    super();
    const { agents } = d;
    agents.on(
      'probed',
      (node, report) =>
        void this.onProbed(
          node,
          report.round,
          report.taken.length > 0
            ? `port ${report.taken[0]!.port} is taken${report.taken[0]!.holder ? ` by pid ${report.taken[0]!.holder.pid} (${report.taken[0]!.holder.command})` : ''}`
            : undefined,
        ),
    );
    agents.on('joined', (info) => this.onJoined(info.name));
    agents.on('signalled', (node) => {
      const sat = this.satOf(node);
      if (sat) sat.signalled = true;
    });
    agents.on('failed', (node, reason) => this.onGone(node, 'failed', reason));
    agents.on('lost', (node, reason) => this.onGone(node, 'lost', reason));
    agents.on('left', (node, reason) => this.onGone(node, 'stopped', reason));
  }

  /** The cluster formed: grow is served from now on. */
  ready(): void {
    this.formed = true;
  }

  satellites(): readonly SatelliteInfo[] {
    return this.sats.map((s) => s.info);
  }

  activeNodes(): string[] {
    return this.sats
      .filter((s) => s.info.state === 'joined')
      .flatMap((s) => s.info.joined.filter((n) => this.d.agents.stateOf(n)?.state === 'joined'));
  }

  async grow(req: GrowRequest, reason: string): Promise<SatelliteInfo> {
    const { job, slurm } = this.d;
    if (slurm === undefined)
      throw new HttpError(
        409,
        `job ${job.jobId} runs on the ${job.edges.launcher.name} launcher, which cannot add nodes: grow needs a Slurm job`,
        'not-elastic',
      );
    if (!this.formed)
      throw new HttpError(409, `job ${job.jobId}'s cluster is still forming: grow it once it is ready`, 'not-holding');
    if (this.closing) throw new HttpError(409, `job ${job.jobId} is ending`, 'shutting-down');
    const id = `s${this.sats.length + 1}`;
    const script = join(job.paths.dir, `satellite-${id}.sh`);
    // Slurm never places a satellite on a node of the cluster: a node is one agent, one port block
    const exclude = [
      ...job.nodes,
      ...this.sats.filter((s) => !FINAL.includes(s.info.state)).flatMap((s) => s.info.nodes),
    ];
    const text = renderSatelliteScript(job.plan, req, {
      jobId: job.jobId,
      satellite: id,
      jobDir: job.paths.dir,
      controller: this.d.controllerAddress,
      node: this.d.node,
      raysl: this.d.raysl,
      reason,
      exclude,
    });
    writeFileSync(script, text, { mode: fileModeFor(script) });
    const { plan } = job;
    const expected: NodeResources = {
      cpus: req.cpusPerTask ?? plan.perNode.cpus,
      gpus: req.gpusPerNode ?? plan.perNode.gpus,
      ...(req.mem === undefined && plan.perNode.memoryMb !== undefined ? { memoryMb: plan.perNode.memoryMb } : {}),
    };
    const sat: Sat = {
      info: {
        id,
        state: 'queued',
        requested: req.nodes,
        nodes: [],
        joined: [],
        submittedAt: this.iso(),
        reason,
        script,
      },
      req,
      expected,
      waiters: [],
    };
    this.sats.push(sat);
    try {
      sat.info.slurmJobId = await slurm.submit(script);
    } catch (err) {
      this.set(sat, 'failed', `sbatch refused it: ${(err as Error).message}`);
      throw new HttpError(502, `sbatch refused satellite ${id}: ${(err as Error).message}`, 'slurm-failed');
    }
    this.set(sat, 'queued');
    this.watch();
    if (req.waitMs !== undefined && req.waitMs > 0)
      await this.until(sat, (s) => s !== 'queued' && s !== 'joining', req.waitMs);
    return sat.info;
  }

  /** The satellite's batch step runs: its nodes join the registry, with a port block of their own. */
  async started(id: string, body: SatelliteStarted): Promise<{ portBase: number }> {
    const { job, slurm, agents } = this.d;
    const sat = this.sats.find((s) => s.info.id === id);
    if (!sat || slurm === undefined) throw new HttpError(404, `job ${job.jobId} has no satellite ${id}`, 'not-found');
    if (sat.info.slurmJobId !== body.slurmJobId)
      throw new HttpError(
        409,
        `satellite ${id} is Slurm job ${sat.info.slurmJobId ?? '(not submitted)'}, not ${body.slurmJobId}`,
        'bad-request',
      );
    if (sat.info.state !== 'queued')
      throw new HttpError(409, `satellite ${id} is ${sat.info.state}: it cannot start again`, 'bad-request');
    const clash = body.nodes.filter(
      (n) =>
        agents.slot(n) !== undefined && !['stopped', 'failed', 'lost'].includes(agents.stateOf(n)?.state ?? 'stopped'),
    );
    if (clash.length > 0) {
      const why = `Slurm placed it on ${clash.join(',')}, already part of the cluster`;
      this.set(sat, 'failed', why);
      void this.cancelInSlurm(sat);
      throw new HttpError(409, `satellite ${id}: ${why}`, 'bad-request');
    }
    const addresses = await job.edges.launcher.resolveAddresses(body.nodes);
    const taken = await slurm.takenBlocks(body.slurmJobId, body.nodes);
    const block = allocatePortBlock({
      jobId: body.slurmJobId,
      size: job.plan.portLayout.size,
      range: job.plan.portRange,
      taken,
    });
    await slurm.recordBlock(body.slurmJobId, block);
    sat.block = block;
    sat.info.nodes = [...body.nodes];
    sat.info.startedAt = this.iso();
    const slots: AgentSlot[] = body.nodes.map((n) => ({
      name: n,
      role: 'worker',
      address: addresses[n] as string,
      log: job.paths.agentLog(n),
      satellite: id,
    }));
    agents.addSlots(slots);
    const fresh = slots.map((x) => ({
      name: x.name,
      address: x.address,
      role: x.role,
      state: 'pending' as const,
      log: x.log,
      satellite: id,
    }));
    this.d.status.update((s) => ({ ...s, nodes: [...s.nodes.filter((n) => !body.nodes.includes(n.name)), ...fresh] }));
    job.log(
      `satellite ${id} (Slurm ${body.slurmJobId}) started on ${body.nodes.join(',')}: its agents probe ports ${formatBlock(block)}`,
    );
    this.set(sat, 'joining');
    return { portBase: block.base };
  }

  /** What a satellite node's welcome says beyond the job's: its block, its ports to probe, its shape. */
  welcomeFor(slot: AgentSlot): { round: number; portBase: number; probe: number[]; expected: NodeResources } {
    const sat = this.sats.find((s) => s.info.id === slot.satellite);
    const block = sat?.block;
    if (!sat || !block) throw new Error(`satellite node ${slot.name} has no port block`);
    return {
      round: 0,
      portBase: block.base,
      probe: Array.from({ length: block.size }, (_, i) => block.base + i),
      expected: sat.expected,
    };
  }

  /** One satellite (raysl id or Slurm id) once it joined or ended, or as it stands after waitMs. */
  async waitFor(id: string, waitMs: number): Promise<SatelliteInfo> {
    const sat = this.sats.find((s) => s.info.id === id || s.info.slurmJobId === id);
    if (!sat) throw new HttpError(404, `job ${this.d.job.jobId} has no satellite ${id}`, 'not-found');
    if (waitMs > 0) await this.until(sat, (s) => s !== 'queued' && s !== 'joining', waitMs);
    return sat.info;
  }

  async shrink(target: ShrinkTarget, reason: string, drainTimeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    const { sat, nodes } = this.resolve(target);
    if (FINAL.includes(sat.info.state)) return;
    if (sat.info.state === 'queued') {
      await this.cancelInSlurm(sat);
      return this.set(sat, 'ended', `shrunk before Slurm started it (${reason})`);
    }
    this.set(sat, 'draining', `${nodes.join(',')}: ${reason}`);
    await Promise.all(nodes.map((n) => this.drainNode(n, reason, drainTimeoutMs)));
    // the satellite's last node gone: onGone ended it; one node of several: back to joined
    if (sat.info.state === 'draining') this.set(sat, 'joined');
  }

  /** Teardown: every satellite still in Slurm is cancelled (its agents were told to stop just before). */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.watchTimer);
    const live = this.sats.filter((s) => !FINAL.includes(s.info.state));
    await Promise.all(live.map((s) => this.cancelInSlurm(s)));
    for (const s of live) this.set(s, 'cancelled', 'the cluster ended: raysl cancelled it');
  }

  private resolve(target: ShrinkTarget): { sat: Sat; nodes: string[] } {
    const { agents, job } = this.d;
    if (target.satellite !== undefined) {
      const sat = this.sats.find((s) => s.info.id === target.satellite || s.info.slurmJobId === target.satellite);
      if (!sat)
        throw new HttpError(
          404,
          `job ${job.jobId} has no satellite ${target.satellite} (satellites: ${this.sats.map((s) => `${s.info.id}=${s.info.slurmJobId ?? '?'}`).join(', ') || 'none'})`,
          'not-found',
        );
      return { sat, nodes: sat.info.nodes.filter((n) => this.alive(n)) };
    }
    const node = target.node ?? '';
    const slot = agents.slot(node);
    if (!slot) throw new HttpError(404, `${node} is neither a node nor a satellite of job ${job.jobId}`, 'not-found');
    if (slot.satellite === undefined)
      throw new HttpError(
        409,
        `${node} is a node of job ${job.jobId}'s own allocation: only a satellite's nodes can be shrunk`,
        'not-elastic',
      );
    return { sat: this.satOf(node) as Sat, nodes: this.alive(node) ? [node] : [] };
  }

  private alive(node: string): boolean {
    const st = this.d.agents.stateOf(node)?.state;
    return st === 'pending' || st === 'connected' || st === 'joined';
  }

  /** Places nothing new on the node, gives its work the drain timeout, then stops its agent. */
  private async drainNode(node: string, reason: string, drainTimeoutMs: number): Promise<void> {
    const { job, agents, half } = this.d;
    const t0 = job.edges.now();
    job.log(
      `draining ${node} (${reason}): nothing new is placed there; its running work has ${(drainTimeoutMs / 1000).toFixed(0)} s to finish`,
    );
    this.d.status.updateBatched((s) => ({
      ...s,
      nodes: s.nodes.map((n) => (n.name === node && n.state === 'joined' ? { ...n, state: 'draining' as const } : n)),
    }));
    const left = new Promise<void>((resolve) => {
      const onLeft = (n: string) => {
        if (n !== node) return;
        agents.off('left', onLeft);
        agents.off('lost', onLeft);
        resolve();
      };
      agents.on('left', onLeft);
      agents.on('lost', onLeft);
    });
    agents.markLeaving(node, `shrunk: ${reason}`);
    // the builtin runtime drains in its scheduler; Ray drains in its own GCS (the node's agent asks it)
    const drained = half?.drain ? half.drain(node) : this.drainOnAgent(node, drainTimeoutMs, reason, left);
    const timedOut = (await within(drained, drainTimeoutMs)) === 'timeout';
    if (timedOut)
      job.log(
        `${node}: the drain timeout passed with work still running: it is stopped now (and retried elsewhere where the task allows)`,
      );
    half?.onLoss(node, `${node} was shrunk (${reason})${timedOut ? ' before its work finished' : ''}`);
    await agents.release(node, `shrunk: ${reason}`, 2 * job.graceMs + 5000);
    await left;
    job.log(`${node} left the cluster in ${((job.edges.now() - t0) / 1000).toFixed(2)}s (${reason})`);
  }

  /** Ray: the agent asks Ray's GCS to drain its node; Ray's raylet exits once the node is idle. */
  private drainOnAgent(node: string, drainTimeoutMs: number, reason: string, left: Promise<void>): Promise<void> {
    this.d.agents.send(node, { t: 'drain', deadlineSec: Math.max(1, Math.ceil(drainTimeoutMs / 1000)), reason });
    return left;
  }

  private async onProbed(node: string, round: number, taken: string | undefined): Promise<void> {
    const slot = this.d.agents.slot(node);
    if (slot?.satellite === undefined) return;
    if (taken !== undefined) {
      const sat = this.satOf(node);
      return this.d.agents.refuse(
        node,
        `${taken} on ${node}, in satellite ${slot.satellite}'s block ${sat?.block ? formatBlock(sat.block) : '?'}`,
      );
    }
    this.d.agents.send(node, { t: 'start', round, ...(await this.d.startFor(slot)) });
  }

  private onJoined(node: string): void {
    const sat = this.satOf(node);
    if (!sat) return;
    if (!sat.info.joined.includes(node)) sat.info.joined = [...sat.info.joined, node];
    if (sat.info.state === 'joining' && sat.info.nodes.every((n) => sat.info.joined.includes(n) || !this.alive(n))) {
      sat.info.joinedAt = this.iso();
      this.set(sat, 'joined', `${sat.info.joined.join(',')} joined`);
    } else this.changed(sat);
  }

  private onGone(node: string, how: 'failed' | 'lost' | 'stopped', reason: string): void {
    const sat = this.satOf(node);
    if (!sat) return;
    if (how === 'stopped')
      this.d.status.updateBatched((s) => ({
        ...s,
        nodes: s.nodes.map((n) => (n.name === node ? { ...n, state: 'stopped' as const, reason } : n)),
      }));
    if (sat.info.nodes.some((n) => this.alive(n))) {
      if (sat.info.state === 'joining') this.onJoined(node);
      return;
    }
    if (FINAL.includes(sat.info.state)) return;
    if (sat.info.state === 'draining' || how === 'stopped') {
      this.set(sat, 'ended', 'shrunk: every node drained and left');
      void this.cancelInSlurm(sat);
      return;
    }
    if (sat.signalled) {
      this.set(
        sat,
        'cancelled',
        `its Slurm job ${sat.info.slurmJobId} was stopped from outside (scancel, its time limit or a preemption); the cluster goes on`,
      );
      void this.sayWhatSlurmSays(sat);
      return;
    }
    const state = sat.info.joined.length > 0 ? 'lost' : 'failed';
    this.set(sat, state, `${node}: ${reason}; the cluster goes on`);
    void this.cancelInSlurm(sat);
  }

  private satOf(node: string): Sat | undefined {
    const id = this.d.agents.slot(node)?.satellite;
    return id === undefined ? undefined : this.sats.find((s) => s.info.id === id);
  }

  /** A new state: the timeline says it (with why), status.json and the listeners see it. */
  private set(sat: Sat, state: SatelliteState, why?: string): void {
    const changedState = sat.info.state !== state;
    sat.info.state = state;
    if (why !== undefined && FINAL.includes(state)) sat.info.why = why;
    if (FINAL.includes(state)) sat.info.endedAt ??= this.iso();
    if (changedState || state === 'queued') {
      const { id, slurmJobId, nodes, reason } = sat.info;
      const detail = `${id}${slurmJobId !== undefined ? ` (Slurm ${slurmJobId})` : ''}${nodes.length > 0 ? ` ${nodes.join(',')}` : ` ${sat.info.requested} node(s)`}: ${why ?? reason}`;
      this.d.job.log(`satellite ${state}: ${detail}`);
      this.d.status.update((s) => withPhase(s, this.d.job.edges.now(), { phase: `satellite-${state}`, detail }));
    }
    this.changed(sat);
  }

  private changed(sat: Sat): void {
    const all = this.satellites().map((s) => ({ ...s }));
    this.d.status.update((s) => ({ ...s, satellites: all }));
    for (const w of sat.waiters.splice(0)) w();
    this.emit('changed', sat.info);
  }

  private async until(sat: Sat, done: (s: SatelliteState) => boolean, ms: number): Promise<void> {
    const deadline = this.d.job.edges.now() + ms;
    while (!done(sat.info.state) && this.d.job.edges.now() < deadline) {
      await within(new Promise<void>((r) => sat.waiters.push(r)), deadline - this.d.job.edges.now());
    }
  }

  private async cancelInSlurm(sat: Sat): Promise<void> {
    if (sat.info.slurmJobId === undefined || this.d.slurm === undefined) return;
    try {
      await this.d.slurm.cancel(sat.info.slurmJobId);
    } catch (err) {
      this.d.job.log(
        `scancel of satellite ${sat.info.id} (Slurm ${sat.info.slurmJobId}) failed: ${(err as Error).message}`,
      );
    }
  }

  /** A satellite that ended from outside: Slurm's own state goes into its why. */
  private async sayWhatSlurmSays(sat: Sat): Promise<void> {
    if (sat.info.slurmJobId === undefined || this.d.slurm === undefined) return;
    try {
      const seen = (await this.d.slurm.look([sat.info.slurmJobId])).get(sat.info.slurmJobId);
      if (seen === undefined) return;
      sat.info.why =
        `${sat.info.why ?? ''} (Slurm: ${seen.state}${seen.reason && seen.reason !== 'None' ? `, ${seen.reason}` : ''})`.trim();
      this.changed(sat);
    } catch {
      // the why already says what raysl saw
    }
  }

  /**
   * Queued satellites: Slurm tells nobody when one is cancelled (or fails) in its queue, so it is
   * asked, with backoff, while any satellite is queued.
   */
  private watch(): void {
    if (this.watchTimer !== undefined || this.closing) return;
    this.watchTimer = setTimeout(() => void this.look(), this.watchMs);
    this.watchTimer.unref();
  }

  private async look(): Promise<void> {
    this.watchTimer = undefined;
    const queued = this.sats.filter((s) => s.info.state === 'queued' && s.info.slurmJobId !== undefined);
    if (queued.length === 0 || this.d.slurm === undefined || this.closing) {
      this.watchMs = WATCH_FIRST_MS;
      return;
    }
    try {
      const seen = await this.d.slurm.look(queued.map((s) => s.info.slurmJobId as string));
      for (const s of queued) {
        const st = seen.get(s.info.slurmJobId as string);
        if (s.info.state !== 'queued') continue;
        if (
          st === undefined ||
          [
            'CANCELLED',
            'FAILED',
            'TIMEOUT',
            'NODE_FAIL',
            'BOOT_FAIL',
            'DEADLINE',
            'OUT_OF_MEMORY',
            'PREEMPTED',
            'COMPLETED',
          ].includes(st.state)
        ) {
          this.set(
            s,
            'cancelled',
            `its Slurm job ${s.info.slurmJobId} ended before it started (${st?.state ?? 'no longer listed'}${st?.reason && st.reason !== 'None' ? `, ${st.reason}` : ''}); the cluster goes on`,
          );
        }
      }
    } catch (err) {
      this.d.job.log(`squeue for the queued satellites failed: ${(err as Error).message}`);
    }
    this.watchMs = Math.min(this.watchMs * 2, WATCH_MAX_MS);
    this.watch();
  }

  private iso(): string {
    return new Date(this.d.job.edges.now()).toISOString();
  }
}
