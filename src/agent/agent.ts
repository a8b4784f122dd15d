/**
 * The per-node agent (`raysl agent`, one srun task or one local child per node):
 * hello -> welcome (the controller's instructions) -> check what Slurm granted -> bind-probe the
 * job's port block -> start the runtime -> ready. Then it serves run requests until told to stop,
 * or until the controller goes away: either way it stops its runtime and every process it
 * started, and exits. Nothing it started outlives it.
 */
import { mkdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { UsageError, asRayslError } from '../core/errors.js';
import { probePorts } from './port-probe.js';
import { openChannel, type Channel } from './channel.js';
import { checkGrant, grantedFromEnv } from './granted.js';
import { TOKEN_ENV, type ControllerMessage, type Welcome } from '../controller/protocol.js';
import { getRuntime } from '../runtimes/index.js';
import type { RuntimeProcess } from '../runtimes/types.js';
import { runCommand, type RunningCommand } from '../runtimes/builtin/exec.js';
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

  let finish: (x: Outcome) => void = () => {};
  const outcome = new Promise<Outcome>((r) => (finish = r));
  const sigs: StopSignal[] = ['SIGTERM', 'SIGINT', 'SIGUSR1'];
  const handlers = sigs.map((sig) => {
    const fn = () => finish({ kind: 'signal', signal: sig });
    signals.on(sig, fn);
    return [sig, fn] as const;
  });

  let channel: Channel | undefined;
  let runtime: RuntimeProcess | undefined;
  let scratch: string | undefined;
  const running = new Set<RunningCommand>();
  try {
    channel = await openChannel(o.controller, token);
    const ch = channel;
    void ch.closed.then(() => finish({ kind: 'lost' }));
    const granted = grantedFromEnv(o.env);
    if (hookApplies(o.env, 'RAYSL_TEST_FAIL_AGENT', node)) {
      // says hello (so the controller knows its pid) and then never brings its runtime up
      log('test hook RAYSL_TEST_FAIL_AGENT: registered, never joining');
      ch.onMessage((m) => void (m.t === 'stop' && finish({ kind: 'stop', reason: m.reason })));
      ch.send({ t: 'hello', v: 1, node, role: o.role, pid: process.pid, hostname: hostname(), granted });
      return exitFor(await outcome, log);
    }
    let runEnv: NodeJS.ProcessEnv = {};
    let welcomed: (w: Welcome) => void = () => {};
    const welcome = new Promise<Welcome>((r) => (welcomed = r));
    ch.onMessage((m: ControllerMessage) => {
      if (m.t === 'welcome') welcomed(m);
      else if (m.t === 'refuse') {
        log(`refused by the controller: ${m.reason}`);
        finish({ kind: 'stop', reason: m.reason });
      } else if (m.t === 'stop') finish({ kind: 'stop', reason: m.reason });
      else if (m.t === 'run') {
        const cmd = runCommand(m.req, { ...o.env, ...runEnv }, process.cwd());
        running.add(cmd);
        void cmd.result.then((result) => {
          running.delete(cmd);
          ch.send({ t: 'result', id: m.id, result });
        });
      }
    });
    ch.send({ t: 'hello', v: 1, node, role: o.role, pid: process.pid, hostname: hostname(), granted });
    const first = await Promise.race([welcome, outcome]);
    if (!('t' in first)) return exitFor(first, log);
    const w = first;

    const grant = checkGrant(granted, w.expected, node);
    if (!grant.ok) {
      log(`refusing to start: ${grant.problem}`);
      ch.send({ t: 'fail', reason: grant.problem ?? 'resource mismatch', ...(grant.hint ? { hint: grant.hint } : {}) });
      return 1;
    }
    const probes = await probePorts(w.address, w.probe);
    const takenPorts = probes.filter((p) => !p.free);
    if (takenPorts.length > 0) {
      const first = takenPorts[0]!;
      const holder = first.holder ? ` held by pid ${first.holder.pid} (${first.holder.command})` : '';
      const reason = `port ${first.port} on ${node} (${w.address}) is ${first.reason === 'permission' ? 'not ours to bind' : 'in use'}${holder}${takenPorts.length > 1 ? ` (+${takenPorts.length - 1} more ports of the block)` : ''}`;
      log(`refusing to start: ${reason}`);
      ch.send({ t: 'fail', reason, hint: 'run `raysl check-ports` to see who holds the block, or retry: the next job picks another block' });
      return 1;
    }
    scratch = w.scratchDir;
    mkdirSync(scratch, { recursive: true, mode: 0o700 });
    runEnv = {
      ...w.env,
      RAYSL_NODE: node,
      RAYSL_NODE_ADDRESS: w.address,
      ...(grant.gpuIds.length > 0 || w.expected.gpus === 0 ? { CUDA_VISIBLE_DEVICES: grant.gpuIds.join(',') } : {}),
    };
    const adapter = getRuntime(w.runtime);
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
        headAddress: w.headAddress,
        portBase: w.portBase,
        layout: w.layout,
        resources: grant.resources,
        scratchDir: scratch,
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
        ch.send({ t: 'runtime-exited', code: e.code, signal: e.signal });
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
      ch.send({ t: 'runtime-exited', code: already.code, signal: already.signal });
      return exitFor({ kind: 'runtime-exited' }, log);
    }
    ch.send({
      t: 'ready',
      node: {
        name: node,
        role: o.role,
        address: runtimeAddress,
        hostname: hostname(),
        cpus: grant.resources.cpus,
        gpus: grant.resources.gpus,
        ...(grant.resources.memoryMb !== undefined ? { memoryMb: grant.resources.memoryMb } : {}),
        gpuIds: grant.gpuIds,
      },
    });
    log(`joined: runtime ${w.runtime} up on ${runtimeAddress}, ports ${w.portBase}-${w.portBase + w.layout.size - 1}`);
    return exitFor(await outcome, log);
  } finally {
    // reverse start order: commands, runtime, scratch, channel
    await Promise.all([...running].map((c) => c.stop(grace)));
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
