/**
 * The controller: one per job, in the batch step on the head (or in-process under `run --local`).
 * allocated -> port block + control server -> agents launched -> probe phase (port-phase.ts: every
 * agent bind-probes the block; a taken port moves the job to the next block) -> joined (>= min) ->
 * entrypoint -> teardown in reverse start order, always, bounded. Every edge is injected (principle 9).
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { Plan, PortBlock } from '../core/types.js';
import { ClusterFormError, InternalError, NodeLostError, RayslError, UsageError, asRayslError } from '../core/errors.js';
import { expandHostlist } from '../core/nodelist.js';
import { allocatePortBlock, appPortsEnv, portsOf } from '../core/ports.js';
import { jobPaths, type PortsRecord } from '../core/jobdir.js';
import { initialStatus, withNode, withPhase, withState, type JobState } from '../core/status.js';
import type { Launcher, LaunchedAgents } from '../launchers/types.js';
import { getRuntime } from '../runtimes/index.js';
import { KvStore } from '../runtimes/builtin/kv.js';
import { AgentRegistry, type AgentSlot } from './agents.js';
import { createControlServer, listen, type ControlServer } from './server.js';
import { newToken, writeTokenFile } from './token.js';
import { StatusFile, writeJsonAtomic } from './status-file.js';
import { progressLog } from './log.js';
import { Cancelled, waitForJoin } from './join.js';
import { exitCodeOf, startEntrypoint, type RunningEntrypoint } from './entrypoint.js';
import { ADDRESS_ENV, PROTOCOL_VERSION, TOKEN_ENV, type Welcome } from './protocol.js';
import { PortPhase } from './port-phase.js';
import { within } from '../proc/terminate.js';

import { STOP_SIGNALS, type SignalSource, type StopSignal } from '../proc/signals.js';
// re-exported while callers move to src/proc/signals.ts
export type { SignalSource, StopSignal };

export interface ControllerEdges {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  now: () => number;
  cwd: string;
  launcher: Launcher;
  /** argv that runs `raysl agent` on a node, e.g. [process.execPath, '/…/dist/raysl.mjs', 'agent']. */
  agentArgv: string[];
  signals?: SignalSource;
  /** TERM -> KILL grace for the entrypoint and agents (default 3000 ms). */
  graceMs?: number;
  /** Port blocks tried after a bind fails (default 8). */
  bindAttempts?: number;
  /** Port blocks tried by the agents' probe phase before the job fails with exit 4 (default 8). */
  probeAttempts?: number;
  /** Under --min-nodes < -N: how long the probe phase waits for stragglers once min reported (default 1000 ms). */
  probeStraggleMs?: number;
  /** Called once the control server listens (tests use it to find the job). */
  onListening?: (info: { jobId: string; address: string; jobDir: string }) => void;
}

type StopReason = { kind: 'signal'; signal: StopSignal } | { kind: 'node-lost'; node: string; reason: string };

/** Runs one job; returns the entrypoint's exit code, throws RayslError (4, 5, 70) otherwise. */
export async function runController(plan: Plan, edges: ControllerEdges): Promise<number> {
  const t0 = edges.now();
  const grace = edges.graceMs ?? 3000;
  const jobId = edges.env.SLURM_JOB_ID;
  const nodelist = edges.env.SLURM_JOB_NODELIST;
  if (!jobId || !nodelist) {
    throw new UsageError('the controller needs SLURM_JOB_ID and SLURM_JOB_NODELIST', {
      hint: 'the controller runs inside an sbatch job (raysl submit) or under `raysl run --local`',
    });
  }
  const nodes = expandHostlist(nodelist);
  if (nodes.length < plan.minNodes) {
    throw new ClusterFormError(`the allocation has ${nodes.length} node(s) (${nodelist}) but the plan needs at least ${plan.minNodes}`, {
      hint: 'submit with -N matching --min-nodes',
    });
  }
  const head = nodes[0] as string;
  const paths = jobPaths(plan.jobDir, jobId);
  // node-local scratch of every agent: <TMPDIR>/raysl-<job>/<node>
  const scratchRoot = join(edges.env.TMPDIR || tmpdir(), `raysl-${jobId}`);
  mkdirSync(paths.dir, { recursive: true, mode: 0o755 });
  const log = progressLog(edges.stderr, edges.now, t0);
  log.attachFile(paths.controllerLog);
  writeJsonAtomic(paths.plan, plan);

  // Signals: the first one starts teardown, a second one during teardown KILLs at once.
  let stopWith: (r: StopReason) => void = () => {};
  const stopped = new Promise<StopReason>((r) => (stopWith = r));
  let stopReason: StopReason | undefined;
  const requestStop = (r: StopReason) => {
    if (stopReason) return;
    stopReason = r;
    stopWith(r);
  };
  let hurry: () => void = () => {};
  const signals = edges.signals ?? (process as unknown as SignalSource);
  let signalCount = 0;
  const handlers = STOP_SIGNALS.map((sig) => {
    const fn = () => {
      signalCount++;
      log(`received ${sig}${signalCount > 1 ? ' again: killing everything now' : ': tearing down'}`);
      if (signalCount > 1) hurry();
      requestStop({ kind: 'signal', signal: sig });
    };
    signals.on(sig, fn);
    return [sig, fn] as const;
  });

  const runtime = getRuntime(plan.runtime);
  const kv = new KvStore();
  let server: ControlServer | undefined;
  let agentsRef: AgentRegistry | undefined;
  let launched: LaunchedAgents | undefined;
  let entry: RunningEntrypoint | undefined;
  let block: PortBlock | undefined;
  let status: StatusFile | undefined;
  let finalState: JobState = 'failed';
  let exitCode: number = 70;
  let failure: RayslError | undefined;

  try {
    const addresses = await edges.launcher.resolveAddresses(nodes);
    const headAddress = addresses[head] as string;
    const slots: AgentSlot[] = nodes.map((n) => ({ name: n, role: n === head ? 'head' : 'worker', address: addresses[n] as string, log: paths.agentLog(n) }));
    status = new StatusFile(
      paths.status,
      initialStatus({ jobId, runtime: plan.runtime, launcher: edges.launcher.name, nodes: slots.map((s) => ({ name: s.name, address: s.address, role: s.role, log: s.log })), minNodes: plan.minNodes, startedAtMs: t0, controllerPid: process.pid }),
    );
    const st = status;
    log(`job ${jobId}: ${nodes.length} node(s) ${nodelist}, head ${head} (${headAddress}), runtime ${plan.runtime}, launcher ${edges.launcher.name}`);

    const token = newToken();
    writeTokenFile(paths.token, token);
    // Where the head's runtime will listen: its agent reports it with its probe (--iface may move it
    // off the Slurm address). Workers start at the same time as the head, pointed at that address.
    let headProbed: (address: string) => void = () => {};
    const headBindAddress = new Promise<string>((r) => (headProbed = r));
    let phase: PortPhase | undefined;
    const welcome = (slot: AgentSlot): Welcome => ({
      t: 'welcome',
      v: PROTOCOL_VERSION,
      jobId,
      runtime: plan.runtime,
      address: slot.address,
      ...(plan.iface !== undefined ? { iface: plan.iface } : {}),
      ...(phase as PortPhase).welcomeFor(slot),
      layout: plan.portLayout,
      expected: plan.perNode,
      scratchDir: join(scratchRoot, slot.name),
      env: plan.env,
      rayAuth: plan.rayAuth,
      tokenFile: paths.token,
      runtimeLogDir: join(paths.dir, 'runtime-logs', slot.name),
    });
    const agents = new AgentRegistry(slots, welcome);
    agentsRef = agents;

    // Port block: avoid other raysl jobs' blocks, then let the bind itself settle races (here for
    // the control server, in the probe phase for every port on every node).
    // Ray binds 0.0.0.0 whatever its node address: nodes that share one port space (the local
    // launcher) get a slice of the block each, node i at base + i * layout size.
    const slices = edges.launcher.sharedPortSpace && runtime.bindsWildcard === true ? nodes.length : 1;
    const blockSize = plan.portLayout.size * slices;
    const sliceBase = (slot: AgentSlot, b: PortBlock): number => b.base + (slices > 1 ? nodes.indexOf(slot.name) * plan.portLayout.size : 0);
    const taken = await edges.launcher.takenBlocks(jobId, nodes);
    const hooks = testHooks(edges.env);
    const ctl = createControlServer({ token, info: { protocol: PROTOCOL_VERSION, jobId, runtime: plan.runtime, head }, agents, kv });
    for (let attempt = 0; ; attempt++) {
      const candidate =
        attempt === 0 && hooks.firstBase !== undefined
          ? { base: hooks.firstBase, size: blockSize }
          : allocatePortBlock({ jobId, size: blockSize, range: plan.portRange, taken });
      try {
        await listen(ctl.server, headAddress, controllerPort(candidate, plan));
        block = candidate;
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' || attempt + 1 >= (edges.bindAttempts ?? 8)) {
          throw new ClusterFormError(`cannot start the control server on ${headAddress}:${controllerPort(candidate, plan)}: ${(err as Error).message}`, {
            hint: code === 'EADDRINUSE' ? 'too many port blocks are in use on this node; run `raysl check-ports` to see who holds them' : `check that ${headAddress} is an address of this host`,
          });
        }
        log(`port ${controllerPort(candidate, plan)} on ${headAddress} is in use: moving to the next block`);
        taken.push(candidate);
      }
    }
    server = ctl;
    // The control server stays on this block's controller port for the whole job (agents get its
    // address on their command line); a move by the probe phase only moves the runtime's ports.
    const serverBlock = block;
    const controllerAddress = `${headAddress}:${controllerPort(block, plan)}`;
    const recordBlock = async (b: PortBlock): Promise<void> => {
      const record: PortsRecord = { version: 1, jobId, base: b.base, size: b.size, controller: controllerAddress, pid: process.pid };
      writeJsonAtomic(paths.ports, record);
      await edges.launcher.recordBlock(jobId, b, controllerAddress);
      st.update((s) => ({ ...s, controller: controllerAddress, portBlock: b }));
    };
    await recordBlock(block);
    log(`control server on ${controllerAddress}, port block ${block.base}-${block.base + block.size - 1}`);
    edges.onListening?.({ jobId, address: controllerAddress, jobDir: paths.dir });
    phase = new PortPhase({
      agents,
      minNodes: plan.minNodes,
      first: block,
      layout: plan.portLayout,
      maxAttempts: hooks.probeAttempts ?? edges.probeAttempts ?? 8,
      next: (failed) => allocatePortBlock({ jobId, size: blockSize, range: plan.portRange, taken: [...taken, serverBlock, ...failed] }),
      record: async (b) => {
        block = b;
        await recordBlock(b);
      },
      // the head's controller port is ours already; a moved block's controller slot stays unused
      probeFor: (slot, b) => slicePorts(sliceBase(slot, b), plan).filter((p) => !(p === controllerPort(b, plan) && (slot.role === 'head' || b !== serverBlock))),
      baseFor: sliceBase,
      startFor: async (slot) => ({
        // without --iface the head binds its Slurm address: nobody waits for its probe
        headAddress: slot.role === 'worker' && plan.iface !== undefined ? await headBindAddress : headAddress,
        headPortBase: phase?.current().base ?? block?.base ?? 0,
      }),
      log,
      straggleMs: edges.probeStraggleMs ?? 1000,
    });
    const ph = phase;

    agents.on('connected', (node, pid) => st.update((s) => withNode(s, node, { pid })));
    agents.on('probed', (node, report) => {
      if (node === head) headProbed(report.bindAddress ?? headAddress);
    });
    agents.on('joined', (info, notes) => {
      for (const note of notes) log(`${info.name}: ${note}`);
      const n = agents.joinedNodes().length;
      log(`${info.name} joined (${info.cpus} CPU, ${info.gpus} GPU) ${n}/${nodes.length}`);
      st.update((s) => withPhase(withNode(s, info.name, { state: 'joined', cpus: info.cpus, gpus: info.gpus }), edges.now(), { phase: 'node-joined', node: info.name }));
    });
    agents.on('failed', (node, reason) => {
      log(`${node} failed: ${reason} (log: ${paths.agentLog(node)})`);
      st.update((s) => withPhase(withNode(s, node, { state: 'failed', reason }), edges.now(), { phase: 'node-failed', node, detail: reason }));
    });
    agents.on('lost', (node, reason) => {
      log(`${node} lost: ${reason} (log: ${paths.agentLog(node)})`);
      st.update((s) => withPhase(withNode(s, node, { state: 'lost', reason }), edges.now(), { phase: 'node-lost', node, detail: reason }));
      if (!plan.continueOnNodeLoss) requestStop({ kind: 'node-lost', node, reason });
    });

    const agentEnv: NodeJS.ProcessEnv = { ...edges.env, ...plan.env, [TOKEN_ENV]: token, RAYSL_JOB_ID: jobId, RAYSL_JOB_DIR: paths.dir };
    launched = await edges.launcher.launch({
      jobId,
      targets: slots.map((s) => ({ node: s.name, role: s.role, address: s.address, log: s.log })),
      agentArgv: edges.agentArgv,
      controller: controllerAddress,
      env: agentEnv,
      perNode: plan.perNode,
      log,
    });
    const la = launched;
    launched.onExit((e) => {
      const how = e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
      for (const n of e.nodes) agents.agentExited(n, how);
    });
    hurry = () => {
      void la.stop(0);
      void entry?.stop(0);
    };
    st.update((s) => withPhase(withState(s, 'forming'), edges.now(), { phase: 'agents-launched' }));

    try {
      await Promise.race([
        waitForJoin({ agents, min: plan.minNodes, timeoutMs: plan.joinTimeoutSec * 1000, cancelled: Promise.race([stopped, ph.failed.catch(() => undefined)]) }),
        ph.failed,
      ]);
    } catch (err) {
      ph.close();
      throw err;
    }
    // the phase stays open after the join: a node arriving late still probes the settled block and starts
    block = ph.current();
    log(`cluster ready: ${agents.joinedNodes().length}/${nodes.length} nodes in ${((edges.now() - t0) / 1000).toFixed(2)}s`);
    st.update((s) => withPhase(s, edges.now(), { phase: 'ready' }));
    if (stopReason) throw new Cancelled('stopped');

    const entryEnv: NodeJS.ProcessEnv = withoutUnset({
      ...edges.env,
      [ADDRESS_ENV]: controllerAddress,
      [TOKEN_ENV]: token,
      RAYSL_JOB_DIR: paths.dir,
      RAYSL_JOB_ID: jobId,
      RAYSL_NODES: JSON.stringify(agents.joinedNodes()),
      ...appPortsEnv(block.base, plan.portLayout),
      PYTHONUNBUFFERED: '1',
      ...runtime.entrypointEnv({ address: runtimeHeadAddress(agents, headAddress), portBase: block.base, layout: plan.portLayout, rayAuth: plan.rayAuth, tokenFile: paths.token }),
      ...plan.env,
    });
    entry = startEntrypoint({ plan, env: entryEnv, cwd: edges.cwd, logPath: paths.entrypointLog, stdout: edges.stdout, stderr: edges.stderr });
    log(`entrypoint started (pid ${entry.pid}): ${[...plan.entrypoint.interpreter, plan.entrypoint.path, ...plan.entrypoint.args].join(' ')}`);
    // the head's agent shares this machine: should this controller die, it stops the entrypoint's group
    if (entry.pid !== undefined) agents.send(head, { t: 'entrypoint', pgid: entry.pid });
    st.update((s) => withPhase(withState(s, 'running'), edges.now(), { phase: 'entrypoint-started' }));

    const outcome = await Promise.race([entry.exited.then((info) => ({ exit: info })), stopped.then((reason) => ({ reason }))]);
    if ('reason' in outcome) {
      const info = await entry.stop(grace);
      exitCode = exitCodeOf(info, signalNumber);
      log(`entrypoint stopped (${describeExit(info)})`);
      st.update((s) => withPhase(s, edges.now(), { phase: 'entrypoint-exited', code: exitCode }));
      if (outcome.reason.kind === 'node-lost') throw nodeLost(outcome.reason, paths.agentLog(outcome.reason.node));
      finalState = 'cancelled';
    } else {
      exitCode = exitCodeOf(outcome.exit, signalNumber);
      log(`entrypoint exited (${describeExit(outcome.exit)})`);
      st.update((s) => withPhase(s, edges.now(), { phase: 'entrypoint-exited', code: exitCode }));
      finalState = exitCode === 0 ? 'succeeded' : 'failed';
    }
    return exitCode;
  } catch (err) {
    if (err instanceof Cancelled || (stopReason && !(err instanceof RayslError))) {
      if (stopReason?.kind === 'node-lost') {
        failure = nodeLost(stopReason, paths.agentLog(stopReason.node));
      } else {
        finalState = 'cancelled';
        exitCode = 128 + signalNumber(stopReason?.kind === 'signal' ? stopReason.signal : 'SIGTERM');
        return exitCode;
      }
    } else {
      failure = asRayslError(err);
    }
    throw failure;
  } finally {
    if (failure) {
      exitCode = failure.exitCode;
      finalState = 'failed';
      log(`error: ${failure.message}`);
      status?.update((s) => withPhase(s, edges.now(), { phase: 'error', code: failure?.exitCode, detail: failure?.message }));
    }
    status?.update((s) => withState(s, 'tearing-down'));
    const tTear = edges.now();
    // reverse start order: entrypoint, agents (politely, then by force), server, records
    await teardownStep(log, 'entrypoint', async () => void (await entry?.stop(grace)));
    await teardownStep(log, 'agents', async () => {
      if (!launched) return;
      await agentsRef?.stopAll('the job is ending', grace);
      if ((await within(launched.allExited, grace)) === 'timeout') await launched.stop(grace);
    });
    await teardownStep(log, 'leftovers', async () => {
      const dirs = [scratchRoot, ...nodes.flatMap((n) => runtime.dirsOutsideScratch?.({ jobId, nodeName: n, scratchDir: join(scratchRoot, n) }) ?? [])];
      const n = (await edges.launcher.sweep?.(jobId, dirs, grace)) ?? 0;
      if (n > 0) log(`killed ${n} process(es) of the job that outlived their agent (found by RAYSL_JOB_ID=${jobId})`);
    });
    await teardownStep(log, 'control server', async () => {
      kv.close();
      await server?.close();
    });
    await teardownStep(log, 'port record', () => edges.launcher.releaseBlock(jobId));
    for (const [sig, fn] of handlers) signals.off(sig, fn);
    log(`torn down in ${((edges.now() - tTear) / 1000).toFixed(2)}s; exit ${exitCode}`);
    status?.update((s) => {
      const done = withPhase({ ...withState(s, finalState), exitCode }, edges.now(), { phase: 'torn-down', code: exitCode });
      return failure ? { ...done, error: { message: failure.message, ...(failure.hint ? { hint: failure.hint } : {}) } } : done;
    });
    await log.close();
  }
}

async function teardownStep(log: (l: string) => void, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    log(`teardown: ${what} done`);
  } catch (err) {
    log(`teardown of ${what} failed: ${(err as Error).message}`);
  }
}

/** The head's runtime address as its agent reported it (a builtin job may start without its head). */
function runtimeHeadAddress(agents: AgentRegistry, fallback: string): string {
  return agents.joinedNodes().find((n) => n.role === 'head')?.address ?? fallback;
}

/** Test hooks, honoured only with RAYSL_TEST_HOOKS=1 (never set in production). */
function testHooks(env: NodeJS.ProcessEnv): { firstBase?: number; probeAttempts?: number } {
  if (env.RAYSL_TEST_HOOKS !== '1') return {};
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
  const firstBase = num(env.RAYSL_TEST_FIRST_PORT_BASE);
  const probeAttempts = num(env.RAYSL_TEST_PROBE_ATTEMPTS);
  return { ...(firstBase !== undefined ? { firstBase } : {}), ...(probeAttempts !== undefined ? { probeAttempts } : {}) };
}

function controllerPort(block: PortBlock, plan: Plan): number {
  const p = portsOf(block.base, plan.portLayout).controller;
  if (p === undefined) throw new InternalError('the port layout has no controller port', { hint: 'this is a bug in raysl' });
  return p;
}

/** The ports of one node's slice (the whole block unless nodes share one port space). */
function slicePorts(base: number, plan: Plan): number[] {
  return Array.from({ length: plan.portLayout.size }, (_, i) => base + i);
}

/** Drops the keys a runtime asked to remove (undefined) from an environment. */
function withoutUnset(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}

function nodeLost(r: { node: string; reason: string }, log: string): NodeLostError {
  return new NodeLostError(`node ${r.node} was lost while the job was running: ${r.reason}`, {
    hint: `read ${log}; pass --continue-on-node-loss to keep going without it`,
    details: { node: r.node, log },
  });
}

function signalNumber(s: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[s] ?? 15;
}

function describeExit(info: { code: number | null; signal: NodeJS.Signals | null }): string {
  return info.signal ? `killed by ${info.signal}` : `code ${info.code}`;
}
