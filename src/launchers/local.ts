/**
 * The local launcher: every simulated node is a child process on this machine with its own
 * loopback address (127.0.1.<i>) and the environment Slurm would give a task on that node
 * (SLURMD_NODENAME, SLURM_CPUS_ON_NODE, CUDA_VISIBLE_DEVICES, ...). Each agent gets its own
 * process group so a stop reaches everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PortBlock } from '../core/types.js';
import { compressHostlist } from '../core/nodelist.js';
import type { AgentExit, LaunchedAgents, Launcher, LaunchRequest } from '../controller/launcher.js';
import { exitOf, terminateGroup, type ExitInfo } from '../proc/terminate.js';
import { killMarked } from '../proc/sweep.js';
import { processAlive, selfIdentity } from '../proc/identity.js';
import { LOCAL_LAUNCHER_ENV } from '../core/env-names.js';
import { writeJsonAtomic } from '../jobdir/write.js';
import type { PortsRecord } from '../core/jobdir.js';
import { fileModeFor } from '../jobdir/modes.js';

/** Loopback address of the i-th simulated node (0-based): 127.0.1.1, 127.0.1.2, ... */
function localAddress(i: number): string {
  if (i < 0 || i > 253 * 254) throw new RangeError(`node index ${i} out of range`);
  return `127.0.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`;
}

/** Where live local jobs record their port blocks (per user: blocks of others are found by bind). */
function localRegistryDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `raysl-local-${uid}`, 'ports');
}

/** Simulated GPU ids for one node: 0..g-1, as Slurm sets them for a GRES-bound step. */
function simulatedGpuIds(gpus: number): string[] {
  return Array.from({ length: gpus }, (_, i) => String(i));
}

export interface LocalLauncherOptions {
  registryDir?: string;
}

export function localLauncher(opts: LocalLauncherOptions = {}): Launcher {
  const registry = opts.registryDir ?? localRegistryDir();
  return {
    name: 'local',
    sharedPortSpace: true,
    async resolveAddresses(nodes) {
      return Object.fromEntries(nodes.map((n, i) => [n, localAddress(i)]));
    },
    async takenBlocks(jobId) {
      let names: string[] = [];
      try {
        names = readdirSync(registry);
      } catch {
        return [];
      }
      const blocks: PortBlock[] = [];
      for (const name of names) {
        if (!name.endsWith('.json')) continue;
        try {
          const rec = JSON.parse(readFileSync(join(registry, name), 'utf8')) as PortsRecord;
          if (rec.jobId === jobId) continue;
          // a record whose controller is gone (or a zombie, or its pid reused) is stale (a crashed
          // run): ignore and tidy it
          if (!processAlive(rec.pid, rec.startTicks)) {
            rmSync(join(registry, name), { force: true });
            continue;
          }
          blocks.push({ base: rec.base, size: rec.size });
        } catch {
          // half-written or foreign file: the bind-probe still protects us
        }
      }
      return blocks;
    },
    async recordBlock(jobId, block, controller) {
      mkdirSync(registry, { recursive: true, mode: 0o700 });
      const { pid, startTicks } = selfIdentity();
      const rec: PortsRecord = {
        version: 1,
        jobId,
        base: block.base,
        size: block.size,
        controller,
        pid,
        ...(startTicks !== undefined ? { startTicks } : {}),
      };
      writeJsonAtomic(join(registry, `${jobId}.json`), rec);
    },
    async releaseBlock(jobId) {
      rmSync(join(registry, `${jobId}.json`), { force: true });
    },
    async launch(req) {
      return launchLocal(req);
    },
    // every process of the job inherits RAYSL_JOB_ID=<id> (agents, runtimes, Ray's daemons and
    // workers, commands); this process itself is excluded
    async sweep(jobId, dirs, boundMs) {
      const killed = await killMarked('RAYSL_JOB_ID', jobId, boundMs, dirs);
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      return killed;
    },
  };
}

/**
 * CPU one agent needs to start and join (a Node process loading the agent's chunk): 140-155 ms on
 * the 2-core machine of bench/results/local-scale.json, where a bare `node` that connects to a
 * socket needs about 70 ms. Starting the agents is CPU-bound: n agents take about n x this / cores.
 */
const AGENT_START_CPU_MS = 150;

/** Says up front how long a launch this size takes on this machine, when that is more than a moment. */
function launchEstimate(n: number, cores = availableParallelism()): string | undefined {
  const sec = (n * AGENT_START_CPU_MS) / 1000 / cores;
  if (sec < 2) return undefined;
  return `starting ${n} agents on ${cores} CPU(s): each is a Node process needing about ${AGENT_START_CPU_MS} ms of CPU to start, so expect about ${Math.round(sec)} s before all have joined`;
}

/**
 * Starts the agents one spawn per turn of the event loop: spawn() forks and waits for exec, and a
 * loop of 256 of them without a break kept the controller from answering the first agents' hellos
 * for seconds (they gave up). Between spawns the controller welcomes, probes and joins the agents
 * already up, so launch and join overlap.
 */
async function launchLocal(req: LaunchRequest): Promise<LaunchedAgents> {
  const [cmd, ...baseArgs] = req.agentArgv;
  if (cmd === undefined) throw new Error('agentArgv is empty');
  const nodelist = compressHostlist(req.targets.map((t) => t.node));
  const gpuIds = simulatedGpuIds(req.perNode.gpus);
  const children: Array<{ node: string; child: ChildProcess }> = [];
  // exits that happen while later agents are still being spawned are kept for onExit's late callers
  const seen: AgentExit[] = [];
  const listeners: Array<(e: AgentExit) => void> = [];
  const exits: Array<Promise<void>> = [];
  const shared: NodeJS.ProcessEnv = {
    ...req.env,
    [LOCAL_LAUNCHER_ENV]: '1',
    SLURM_JOB_ID: req.jobId,
    SLURM_JOB_NODELIST: nodelist,
    SLURM_CPUS_ON_NODE: String(req.perNode.cpus),
  };
  if (req.perNode.gpus > 0) {
    shared.CUDA_VISIBLE_DEVICES = gpuIds.join(',');
    shared.SLURM_STEP_GPUS = gpuIds.join(',');
    shared.SLURM_GPUS_ON_NODE = String(req.perNode.gpus);
  } else {
    delete shared.CUDA_VISIBLE_DEVICES;
    delete shared.SLURM_STEP_GPUS;
    delete shared.SLURM_GPUS_ON_NODE;
  }
  const estimate = launchEstimate(req.targets.length);
  if (estimate) req.log(estimate);
  for (const [i, t] of req.targets.entries()) {
    if (i > 0) await new Promise<void>((r) => setImmediate(r));
    const fh = await open(t.log, 'a', fileModeFor(t.log));
    // no cgroup holds a local job together: its agents sweep the job's strays if the controller dies
    const env: NodeJS.ProcessEnv = {
      ...shared,
      SLURMD_NODENAME: t.node,
      SLURM_NODEID: String(i),
      SLURM_PROCID: String(i),
      RAYSL_NODE_ADDRESS: t.address,
    };
    const args = [
      ...baseArgs,
      '--controller',
      req.controller,
      '--node',
      t.node,
      '--role',
      t.role,
      '--address',
      t.address,
    ];
    let child: ChildProcess;
    let exited: Promise<ExitInfo>;
    try {
      child = spawn(cmd, args, { env, stdio: ['ignore', fh.fd, fh.fd], detached: true });
      // before any await: a program that cannot start (a --container-cmd wrapper that is not
      // installed) emits 'error' on the next tick, and an 'error' nobody listens to kills the controller
      exited = exitOf(child);
      child.once('error', (err) => {
        const line = `${t.node}: cannot start its agent: ${err.message} (${cmd})`;
        req.log(line);
        // the log the error names must say it too (it is empty otherwise: nothing ran to write it)
        try {
          appendFileSync(t.log, `raysl: ${line}\n`);
        } catch {
          // the controller's log has it
        }
      });
    } finally {
      await fh.close(); // the child holds its own copy
    }
    children.push({ node: t.node, child });
    exits.push(
      exited.then((info) => {
        const e: AgentExit = { nodes: [t.node], code: info.code, signal: info.signal };
        seen.push(e);
        for (const l of listeners) l(e);
      }),
    );
  }
  req.log(`launched ${children.length} local agent(s): ${children.map((c) => `${c.node}=${c.child.pid}`).join(' ')}`);
  return {
    onExit: (cb) => {
      listeners.push(cb);
      for (const e of seen) cb(e);
    },
    allExited: Promise.all(exits).then(() => undefined),
    stop: async (graceMs) => {
      await Promise.all(children.map((c) => terminateGroup(c.child, graceMs)));
    },
    pids: () => children.map((c) => c.child.pid).filter((p): p is number => p !== undefined),
  };
}
