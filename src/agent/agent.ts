/**
 * The per-node agent (`raysl agent`, one srun task or one local child per node):
 * hello -> welcome (the controller's instructions) -> check what Slurm granted -> bind-probe the
 * job's port block and report it (`probed`; the controller may move the job: `probe` again) ->
 * `start` -> start the runtime -> ready. Then it serves run requests until told to stop, or until
 * the controller goes away: either way it stops its runtime and every process it started, and
 * exits. The head's agent also stops the entrypoint's process group when it loses the controller
 * (the controller tells it the group: a controller killed by SIGKILL cannot stop it itself).
 * Nothing it started outlives it.
 */
import { mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname, networkInterfaces } from 'node:os';
import { InternalError, UsageError, asRayslError } from '../core/errors.js';
import { probePorts } from './port-probe.js';
import { resolveNodeIp } from '../runtimes/iface.js';
import { appPortsEnv } from '../core/ports.js';
import { openChannel, type Channel } from './channel.js';
import { checkGrant, grantedFromEnv } from './granted.js';
import { TOKEN_ENV } from '../core/env-names.js';
import { AGENT_PROTOCOL, type ControllerMessage, type ProbeAgain, type Start, type TakenPort, type Welcome } from '../protocol/agent.js';
import { signalGroup, waitGroupGone } from '../proc/terminate.js';
import { getRuntime } from '../runtimes/index.js';
import type { AgentHalf, RuntimeProcess } from '../runtimes/types.js';
import type { SignalSource, StopSignal } from '../controller/controller.js';

export interface AgentOptions {
  controller: string;
  node?: string;
  role: 'head' | 'worker';
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  signals?: SignalSource;
  graceMs?: number;
}

/** Test hooks are honoured only with RAYSL_TEST_HOOKS=1 (never set in production). */
function hookApplies(env: NodeJS.ProcessEnv, name: string, node: string): boolean {
  return env.RAYSL_TEST_HOOKS === '1' && (env[name] ?? '').split(',').includes(node);
}

type Outcome = { kind: 'stop'; reason: string } | { kind: 'lost' } | { kind: 'signal'; signal: StopSignal } | { kind: 'runtime-exited' };

export async function runAgent(o: AgentOptions): Promise<number> {
  const grace = o.graceMs ?? 3000;
  const token = o.env[TOKEN_ENV];
  if (!token) {
    throw new UsageError(`the agent needs the job token in ${TOKEN_ENV}`, { hint: 'agents are started by the raysl controller, not by hand' });
  }
  // the token must not leak into what the runtime starts unless we pass it on deliberately
  const node = o.node ?? o.env.SLURMD_NODENAME ?? hostname();
  const log = (l: string) => o.log(`[${node}] ${l}`);
  const signals = o.signals ?? (process as unknown as SignalSource);

  let settle: (x: Outcome) => void = () => {};
  const outcome = new Promise<Outcome>((r) => (settle = r));
  let ended: Outcome | undefined;
  const finish = (x: Outcome) => {
    ended ??= x;
    settle(x);
  };
  // the entrypoint's process group, when the controller told this (head) agent about it
  let entrypointPgid: number | undefined;
  const sigs: StopSignal[] = ['SIGTERM', 'SIGINT', 'SIGUSR1'];
  const handlers = sigs.map((sig) => {
    const fn = () => finish({ kind: 'signal', signal: sig });
    signals.on(sig, fn);
    return [sig, fn] as const;
  });

  let channel: Channel | undefined;
  let runtime: RuntimeProcess | undefined;
  let scratch: string | undefined;
  let half: AgentHalf | undefined;
  try {
    channel = await openChannel(o.controller, token);
    const ch = channel;
    void ch.closed.then(() => finish({ kind: 'lost' }));
    const granted = grantedFromEnv(o.env);
    let runEnv: NodeJS.ProcessEnv = {};
    // welcome, probe and start are handled in order by the flow below; the rest as they come
    const inbox: Array<Welcome | ProbeAgain | Start> = [];
    let wake: () => void = () => {};
    const nextMessage = async (): Promise<Welcome | ProbeAgain | Start | Outcome> => {
      for (;;) {
        const m = inbox.shift();
        if (m) return m;
        const arrived = new Promise<undefined>((r) => (wake = () => r(undefined)));
        const o = await Promise.race([arrived, outcome]);
        if (o) return o;
      }
    };
    ch.onMessage((m: ControllerMessage) => {
      if (m.t === 'welcome' || m.t === 'probe' || m.t === 'start') {
        inbox.push(m);
        wake();
      } else if (m.t === 'entrypoint') {
        entrypointPgid = m.pgid;
        log(`the entrypoint runs as process group ${m.pgid}: stopped by this agent if the controller goes away`);
      } else if (m.t === 'refuse') {
        log(`refused by the controller: ${m.reason}`);
        finish({ kind: 'stop', reason: m.reason });
      } else if (m.t === 'stop') finish({ kind: 'stop', reason: m.reason });
      else if (m.t === 'rt') {
        try {
          if (!half) throw new Error('this node has not joined yet');
          half.onMessage(m.body);
        } catch (err) {
          log(`runtime message refused: ${(err as Error).message}`);
        }
      }
    });
    ch.send({ t: 'hello', v: AGENT_PROTOCOL, node, role: o.role, pid: process.pid, hostname: hostname(), granted });
    const first = await nextMessage();
    if ('kind' in first) return exitFor(first, log);
    if (first.t !== 'welcome') return protocolError(`expected welcome first, got ${first.t}`);
    const w = first;

    if (hookApplies(o.env, 'RAYSL_TEST_SILENT_AGENT', node)) {
      // welcomed, then never reports a probe (a node the probe phase must not wait for forever)
      log('test hook RAYSL_TEST_SILENT_AGENT: welcomed, never probing');
      return exitFor(await outcome, log);
    }
    const grant = checkGrant(granted, w.expected, node);
    if (!grant.ok) {
      log(`refusing to start: ${grant.problem}`);
      ch.send({ t: 'fail', reason: grant.problem ?? 'resource mismatch', ...(grant.hint ? { hint: grant.hint } : {}) });
      return 1;
    }
    // Probe where the runtime will bind: the --iface address when one is named, else the node's.
    let probeAddress: string;
    try {
      probeAddress = resolveNodeIp(w.iface, w.address, networkInterfaces());
    } catch (err) {
      const e = asRayslError(err);
      log(`refusing to start: ${e.message}`);
      ch.send({ t: 'fail', reason: e.message, ...(e.hint ? { hint: e.hint } : {}) });
      return 1;
    }
    const adapter = getRuntime(w.runtime);
    // A runtime that binds 0.0.0.0 (Ray) collides with a holder on any address of the node.
    const probeOn = adapter.bindsWildcard === true ? '0.0.0.0' : probeAddress;
    // The probe phase: report each block's probe; the controller moves the job or says start.
    let round = w.round;
    let portBase = w.portBase;
    let ports = w.probe;
    let start: Start;
    for (;;) {
      const taken: TakenPort[] = (await probePorts(probeOn, ports, { wildcard: probeOn === '0.0.0.0' }))
        .filter((p) => !p.free)
        .map((p) => ({ port: p.port, reason: p.reason ?? 'in-use', ...(p.holder ? { holder: p.holder } : {}) }));
      const first = taken[0];
      log(
        first
          ? `ports ${portBase}-${portBase + w.layout.size - 1}: port ${first.port} is taken${first.holder ? ` by pid ${first.holder.pid} (${first.holder.command})` : ''}${taken.length > 1 ? ` (+${taken.length - 1} more)` : ''}`
          : `ports ${portBase}-${portBase + w.layout.size - 1}: free`,
      );
      ch.send({ t: 'probed', round, portBase, taken, bindAddress: probeAddress });
      const next = await nextMessage();
      if ('kind' in next) return exitFor(next, log);
      if (next.t === 'probe') {
        ({ round, portBase, probe: ports } = next);
        continue;
      }
      if (next.t !== 'start' || next.round !== round) return protocolError(`expected start or probe for round ${round}, got ${JSON.stringify(next)}`);
      start = next;
      break;
    }
    if (hookApplies(o.env, 'RAYSL_TEST_FAIL_AGENT', node)) {
      // probed like the others (so the job can start) and then never brings its runtime up
      log('test hook RAYSL_TEST_FAIL_AGENT: registered, never joining');
      return exitFor(await outcome, log);
    }
    scratch = w.scratchDir;
    mkdirSync(scratch, { recursive: true, mode: 0o700 });
    runEnv = {
      ...w.env,
      RAYSL_NODE: node,
      RAYSL_NODE_ADDRESS: w.address,
      ...appPortsEnv(portBase, w.layout),
      ...(grant.gpuIds.length > 0 || w.expected.gpus === 0 ? { CUDA_VISIBLE_DEVICES: grant.gpuIds.join(',') } : {}),
    };
    // A runtime that cannot start is this node's failure, named to the controller with its cause
    // (not just a dropped connection): e.g. Ray missing, a temp dir too long, a port Ray could not bind.
    const startFailed = (err: unknown): number => {
      const e = asRayslError(err);
      log(`runtime ${w.runtime} failed to start: ${e.message}`);
      ch.send({ t: 'fail', reason: e.message, ...(e.hint ? { hint: e.hint } : {}) });
      return 1;
    };
    try {
      runtime = await adapter.start({
        jobId: w.jobId,
        role: o.role,
        nodeName: node,
        address: w.address,
        ...(w.iface !== undefined ? { iface: w.iface } : {}),
        headAddress: start.headAddress,
        portBase,
        headPortBase: start.headPortBase ?? portBase,
        layout: w.layout,
        resources: grant.resources,
        scratchDir: scratch,
        rayAuth: w.rayAuth,
        tokenFile: w.tokenFile,
        runtimeLogDir: w.runtimeLogDir,
        env: { ...o.env, ...runEnv },
        log,
      });
    } catch (err) {
      return startFailed(err);
    }
    const rt = runtime;
    // the address other nodes and the entrypoint reach this node's runtime on (--iface moves it)
    const runtimeAddress = rt.address ?? w.address;
    let joined = false;
    void rt.exited.then((e) => {
      // before ready, a crash is a failed start (reported below with Ray's own reason)
      if (!e.expected && joined) {
        ch.send({ t: 'runtime-exited', code: e.code, signal: e.signal, ...(e.detail ? { detail: e.detail } : {}) });
        finish({ kind: 'runtime-exited' });
      }
    });
    let up: 'ready' | Outcome;
    try {
      up = await Promise.race([rt.ready.then(() => 'ready' as const), outcome]);
    } catch (err) {
      return startFailed(err);
    }
    if (up !== 'ready') return exitFor(up, log);
    joined = true;
    // exited may have settled while ready was resolving: a runtime already gone must not join
    const already = await Promise.race([rt.exited, Promise.resolve(undefined)]);
    if (already && !already.expected) {
      ch.send({ t: 'runtime-exited', code: already.code, signal: already.signal, ...(already.detail ? { detail: already.detail } : {}) });
      return exitFor({ kind: 'runtime-exited' }, log);
    }
    // the runtime's agent half runs what its controller half places on this node
    half = adapter.agentHalf?.({
      nodeName: node,
      send: (body) => ch.send({ t: 'rt', body }),
      env: { ...o.env, ...runEnv },
      cwd: process.cwd(),
      portBase,
      layout: w.layout,
      log,
    });
    ch.send({
      t: 'ready',
      ...(rt.notes && rt.notes.length > 0 ? { notes: rt.notes } : {}),
      node: {
        name: node,
        role: o.role,
        address: runtimeAddress,
        hostname: hostname(),
        cpus: grant.resources.cpus,
        gpus: grant.resources.gpus,
        ...(grant.resources.memoryMb !== undefined ? { memoryMb: grant.resources.memoryMb } : {}),
        gpuIds: grant.gpuIds,
        ...(w.customResources && Object.keys(w.customResources).length > 0 ? { custom: w.customResources } : {}),
      },
    });
    log(`joined: runtime ${w.runtime} up on ${runtimeAddress}, ports ${portBase}-${portBase + w.layout.size - 1}`);
    return exitFor(await outcome, log);
  } finally {
    // reverse start order: the entrypoint (only when the controller that owns it is gone), commands, runtime, scratch, channel
    if (ended?.kind === 'lost' && entrypointPgid !== undefined) await stopOrphanedEntrypoint(entrypointPgid, o.env.RAYSL_JOB_ID, grace, log);
    await half?.stop(grace);
    if (runtime) await runtime.stop(grace);
    if (scratch) {
      rmSync(scratch, { recursive: true, force: true });
      // the job's scratch root is shared by the agents on one machine: the last one out removes it
      try {
        rmdirSync(dirname(scratch));
      } catch {
        // not empty yet, or already gone
      }
    }
    channel?.close();
    for (const [sig, fn] of handlers) signals.off(sig, fn);
  }
}

/**
 * TERM, grace, KILL for the entrypoint's process group. A group with members keeps its id from
 * being reused; the leader's environment (when it is still there) must name this job, in case
 * the whole group ended and another process took the number meanwhile.
 */
async function stopOrphanedEntrypoint(pgid: number, jobId: string | undefined, graceMs: number, log: (l: string) => void): Promise<void> {
  let environ = '';
  try {
    environ = readFileSync(`/proc/${pgid}/environ`, 'utf8');
  } catch {
    // the leader is gone (its group may live on) or /proc is not ours to read
  }
  if (environ !== '' && jobId !== undefined && !environ.includes(`RAYSL_JOB_ID=${jobId}\0`)) return;
  if (!signalGroup(pgid, 'SIGTERM')) return;
  log(`stopping the entrypoint's process group ${pgid} (its controller is gone)`);
  if (!(await waitGroupGone(pgid, graceMs))) {
    signalGroup(pgid, 'SIGKILL');
    await waitGroupGone(pgid, 1000);
  }
}

function protocolError(what: string): number {
  throw new InternalError(`protocol error between agent and controller: ${what}`, { hint: 'the agent and the controller must come from the same raysl version' });
}

function exitFor(o: Outcome, log: (l: string) => void): number {
  switch (o.kind) {
    case 'stop':
      log(`stopping: ${o.reason}`);
      return 0;
    case 'signal':
      log(`stopping: received ${o.signal}`);
      return 0;
    case 'lost':
      log('the controller went away: stopping everything this agent started');
      return 1;
    case 'runtime-exited':
      log('the runtime exited on its own');
      return 1;
  }
}
