/**
 * The srun launcher (real Slurm): agents are srun tasks inside the job's allocation.
 * - addresses: one `scontrol show node` for the whole nodelist (NodeAddr; a name is resolved once);
 * - other jobs' port blocks: running raysl jobs that share a node, read from their Comment;
 * - launch: ONE step for the head and ONE step for all workers (never one srun per node: step
 *   creation costs ~12 ms per node at slurmctld, and one step per node would serialise there).
 *   Both steps use --overlap (see src/slurm/srun.ts for why) and ask for the plan's GPUs per node,
 *   so Slurm binds them and sets CUDA_VISIBLE_DEVICES for each agent. The token travels in the
 *   inherited environment (srun exports it to the tasks), never on argv where `ps` would show it.
 * - stop: SIGTERM to srun (forwarded to every task: the agents stop their runtimes), then srun's
 *   forced termination (SIGINT twice within one second: SIGKILL to every task of the step), then
 *   SIGKILL to srun itself; every stage is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { InternalError, SlurmError } from '../core/errors.js';
import { compressHostlist, expandHostlist } from '../core/nodelist.js';
import { parsePortRecord, withPortRecord } from '../core/ports.js';
import type { PortBlock } from '../core/types.js';
import { showNodes, updateJobComment } from '../slurm/scontrol.js';
import { listJobs } from '../slurm/squeue.js';
import { srunArgv } from '../slurm/srun.js';
import type { SlurmRunOptions } from '../slurm/exec.js';
import { exitOf, KILL_WAIT_MS, terminate, type Escalation, type ExitInfo } from '../proc/terminate.js';
import type { AgentExit, EntrypointAt, LaunchedAgents, Launcher, LaunchRequest } from '../controller/launcher.js';
import { pyxisFlags } from '../core/container.js';
import { precreateJobFile } from '../jobdir/modes.js';

/** Job states in which a job's processes may hold its ports. */
const HOLDING_STATES = ['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED'];

/** srun's forced termination needs the second SIGINT within 1 s of the first, but after srun handled it. */
const SECOND_SIGINT_MS = 200;

/** `--container-image`: the image, and the host paths raysl itself runs from (node binary, package root). */
export interface SrunContainer {
  image: string;
  hostPaths: string[];
}

/** Bound of the cleanup step started when an agent step ends uncleanly (one srun of `rm -rf`). */
const EARLY_CLEANUP_MS = 15_000;

export interface SrunLauncherOptions {
  env: NodeJS.ProcessEnv;
  container?: SrunContainer;
  /** Injected Slurm runner (tests). */
  slurm?: SlurmRunOptions;
}

export function srunLauncher(opts: SrunLauncherOptions): Launcher {
  const slurm: SlurmRunOptions = { env: opts.env, ...opts.slurm };
  // Our own Comment as last seen, so recording the block keeps whatever the user put there.
  let ownComment = '';
  // Nodes whose agent step did not end cleanly (an agent killed, a step forced down): their agents
  // could not remove their node-local dirs, so the teardown's sweep does it with one more step.
  const unclean = new Set<string>();
  // --head-cpus-only: a node's het component (a step must name the component its nodes are in)
  const hetGroupOf = new Map<string, number>();
  let log: (line: string) => void = () => {};
  // nodes whose dirs an early cleanup step removed, and the steps still running
  const cleaned = new Set<string>();
  const cleaning: Array<Promise<void>> = [];
  const cleanNow = (nodes: string[], dirs: string[]): void => {
    const groups = [...new Set(nodes.map((n) => hetGroupOf.get(n)))];
    const run = Promise.all(
      groups.map(async (g) => {
        const mine = nodes.filter((n) => hetGroupOf.get(n) === g);
        if (await removeOnNodes(mine, dirs, opts.env, EARLY_CLEANUP_MS, g)) for (const n of mine) cleaned.add(n);
      }),
    ).then(() => {
      const done = nodes.filter((n) => cleaned.has(n));
      if (done.length > 0)
        log(
          `removed the job's node-local dirs on ${compressHostlist(done)} as soon as their agents ended uncleanly: ${dirs.join(' ')}`,
        );
    });
    cleaning.push(run);
  };
  return {
    name: 'srun',
    sharedPortSpace: false,
    resolveAddresses: (nodes) => resolveAddresses(nodes, slurm),
    async takenBlocks(jobId, nodes) {
      const found = await blocksOnNodes(jobId, nodes, slurm);
      if (found.ownComment !== undefined) ownComment = found.ownComment;
      return found.blocks;
    },
    async recordBlock(jobId, block) {
      await updateJobComment(jobId, withPortRecord(ownComment, block), slurm);
    },
    // Slurm forgets the Comment with the job; a finished job no longer holds ports (HOLDING_STATES).
    async releaseBlock() {},
    async launch(req) {
      log = req.log;
      for (const t of req.targets) {
        const group = req.hetjob?.find((c) => c.role === t.role)?.index;
        if (group !== undefined) hetGroupOf.set(t.node, group);
      }
      // srun --output creates the agent logs with the job's umask, usually world-readable; a log that
      // exists keeps its mode
      for (const t of req.targets) precreateJobFile(t.log);
      const launched = launchSteps(
        req,
        opts.container && containerFlags(opts.container, opts.env, [dirname(agentLogPattern(req.targets))]),
      );
      launched.onExit((e) => {
        if (e.code === 0 && e.signal === null) return;
        for (const n of e.nodes) unclean.add(n);
        // at once, not at teardown: a job cancelled meanwhile (scancel) gets no new step from Slurm
        if (req.nodeDirs !== undefined && req.nodeDirs.length > 0) void cleanNow(e.nodes, req.nodeDirs);
      });
      return launched;
    },
    ...(opts.container !== undefined
      ? {
          entrypointStep: (at: EntrypointAt, argv: string[]) =>
            entrypointStep(
              at,
              containerFlags(opts.container as SrunContainer, opts.env, [at.jobDir, at.cwd, dirname(at.entrypoint)]),
              argv,
            ),
        }
      : {}),
    // processes: the job's cgroup ends them with the allocation; dirs: only where an agent could not
    async sweep(_jobId, dirs, boundMs) {
      await Promise.all(cleaning);
      const nodes = [...unclean].filter((n) => !cleaned.has(n));
      if (nodes.length === 0 || dirs.length === 0) return 0;
      const groups = [...new Set(nodes.map((n) => hetGroupOf.get(n)))];
      const oks = await Promise.all(
        groups.map((g) =>
          removeOnNodes(
            nodes.filter((n) => hetGroupOf.get(n) === g),
            dirs,
            opts.env,
            boundMs,
            g,
          ),
        ),
      );
      const ok = oks.every(Boolean);
      log(
        `${ok ? 'removed' : 'could not remove'} the job's node-local dirs on ${compressHostlist(nodes)} (their agents did not end cleanly): ${dirs.join(' ')}`,
      );
      return 0;
    },
  };
}

/**
 * pyxis flags for a step: the image, and at the same paths inside it the job dir, node-local scratch
 * (raysl's per-job dirs and Ray's temp dir live under TMPDIR or /tmp), raysl's own install and `extra`.
 */
/** Each node's address as the other nodes reach it (scontrol's NodeAddr, resolved). */
async function resolveAddresses(nodes: string[], slurm: SlurmRunOptions): Promise<Record<string, string>> {
  const found = await showNodes(compressHostlist(nodes), slurm);
  const byName = new Map(found.map((n) => [n.name, n]));
  const out: Record<string, string> = {};
  await Promise.all(
    nodes.map(async (name) => {
      const n = byName.get(name);
      if (n === undefined) {
        throw new SlurmError(`scontrol did not report node ${name} of this job`, {
          hint: `run \`scontrol show node ${name}\` by hand`,
        });
      }
      out[name] = await toAddress(name, n.addr);
    }),
  );
  return out;
}

/** The port blocks other running jobs recorded on any of `nodes`, and this job's own Comment as Slurm has it. */
async function blocksOnNodes(
  jobId: string,
  nodes: string[],
  slurm: SlurmRunOptions,
): Promise<{ blocks: PortBlock[]; ownComment?: string }> {
  const ours = new Set(nodes);
  const jobs = await listJobs({ states: HOLDING_STATES }, slurm);
  const blocks: PortBlock[] = [];
  let ownComment: string | undefined;
  for (const job of jobs) {
    if (job.id === jobId) {
      ownComment = job.comment;
      continue;
    }
    const block = parsePortRecord(job.comment);
    if (block === undefined || job.nodelist === '') continue;
    if (expandHostlist(job.nodelist).some((n) => ours.has(n))) blocks.push(block);
  }
  return { blocks, ...(ownComment !== undefined ? { ownComment } : {}) };
}

export function containerFlags(c: SrunContainer, env: NodeJS.ProcessEnv, extra: string[]): string[] {
  const tmpRoots = [...new Set([env['TMPDIR'] || '/tmp', '/tmp'])];
  return pyxisFlags(c.image, [...extra, ...tmpRoots, ...c.hostPaths]);
}

/** Pure: the srun step that runs the entrypoint's argv in the head's container (one task, the node's GPUs, its working dir). */
export function entrypointStep(at: EntrypointAt, flags: string[], argv: string[]): string[] {
  return srunArgv({
    ...(at.hetGroup !== undefined ? { hetGroup: at.hetGroup } : {}),
    nodes: 1,
    nodelist: at.head,
    ntasksPerNode: 1,
    gpusPerNode: at.gpus,
    overlap: true,
    jobName: 'raysl-entrypoint',
    extra: ['--kill-on-bad-exit=0', '--input=none', ...flags, `--container-workdir=${at.cwd}`],
    command: argv,
  });
}

/** One srun step on `nodes` that removes `dirs` (raysl's own per-job paths), bounded. */
function removeOnNodes(
  nodes: string[],
  dirs: string[],
  env: NodeJS.ProcessEnv,
  boundMs: number,
  hetGroup: number | undefined,
): Promise<boolean> {
  const [cmd, ...args] = srunArgv({
    ...(hetGroup !== undefined ? { hetGroup } : {}),
    nodes: nodes.length,
    nodelist: compressHostlist(nodes),
    ntasksPerNode: 1,
    overlap: true,
    jobName: 'raysl-sweep',
    extra: ['--kill-on-bad-exit=0', '--input=none'],
    command: ['rm', '-rf', '--', ...dirs],
  }) as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(boundMs, 2000));
    child.on('error', () => resolve(false));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

async function toAddress(node: string, addr: string): Promise<string> {
  if (isIP(addr) !== 0) return addr;
  try {
    return (await lookup(addr, { family: 4 })).address;
  } catch (err) {
    throw new SlurmError(`node ${node} has NodeAddr ${addr}, which does not resolve to an IPv4 address`, {
      hint: 'ask the admins to set NodeAddr to an IP, or make the name resolve on the compute nodes',
      cause: err,
    });
  }
}

/** srun --output pattern for agent logs: `<dir>/agent-%N.log`, checked against the target paths. */
function agentLogPattern(targets: LaunchRequest['targets']): string {
  const first = targets[0];
  if (first === undefined) throw new InternalError('no agents to launch', { hint: 'this is a bug in raysl' });
  const dir = dirname(first.log);
  for (const t of targets) {
    if (t.log !== `${dir}/agent-${t.node}.log`) {
      throw new InternalError(`agent log ${t.log} does not follow <job dir>/agent-<node>.log`, {
        hint: 'this is a bug in raysl',
      });
    }
  }
  // srun expands %-sequences in --output; a literal % in the job dir must be doubled.
  return `${dir.replaceAll('%', '%%')}/agent-%N.log`;
}

export interface AgentStep {
  role: 'head' | 'worker';
  nodes: string[];
  argv: string[];
}

/** Pure: the (at most two) srun command lines that start every agent of the job. */
export function agentSteps(
  req: Pick<LaunchRequest, 'targets' | 'agentArgv' | 'controller' | 'perNode' | 'hetjob'>,
  container: string[] = [],
): AgentStep[] {
  const output = agentLogPattern(req.targets);
  const head = req.targets.filter((t) => t.role === 'head').map((t) => t.node);
  const workers = req.targets.filter((t) => t.role === 'worker').map((t) => t.node);
  // --head-cpus-only: each step runs in its role's het component and asks for that component's GPUs (the head's: none)
  const component = (role: 'head' | 'worker') => req.hetjob?.find((c) => c.role === role);
  const step = (role: 'head' | 'worker', nodes: string[]): AgentStep => ({
    role,
    nodes,
    argv: srunArgv({
      ...(component(role) ? { hetGroup: component(role)!.index } : {}),
      nodes: nodes.length,
      nodelist: compressHostlist(nodes),
      ntasksPerNode: 1,
      gpusPerNode: component(role)?.perNode.gpus ?? req.perNode.gpus,
      overlap: true,
      jobName: `raysl-agent-${role}`,
      output,
      // a lost worker must not take the others down (--continue-on-node-loss decides, not srun);
      // agent output lands in the per-node log, appended next to what the agent itself writes
      extra: ['--kill-on-bad-exit=0', '--open-mode=append', '--input=none', ...container],
      command: [...req.agentArgv, '--controller', req.controller, '--role', role],
    }),
  });
  const steps = [step('head', head)];
  if (workers.length > 0) steps.push(step('worker', workers));
  return steps;
}

interface RunningStep {
  step: AgentStep;
  child: ChildProcess;
  exited: Promise<ExitInfo>;
}

function launchSteps(req: LaunchRequest, container?: string[]): LaunchedAgents {
  const listeners: Array<(e: AgentExit) => void> = [];
  const seen: AgentExit[] = [];
  const running: RunningStep[] = agentSteps(req, container).map((step) => {
    const [cmd, ...args] = step.argv;
    const child = spawn(cmd as string, args, { env: req.env, stdio: ['ignore', 'ignore', 'pipe'] });
    // srun's own complaints (step creation, task failures) belong in the controller log
    let buf = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') req.log(`srun (${step.role}): ${l}`);
    });
    const exited = exitOf(child).then((info) => {
      if (buf.trim() !== '') req.log(`srun (${step.role}): ${buf}`);
      const e: AgentExit = { nodes: step.nodes, code: info.code, signal: info.signal };
      seen.push(e);
      for (const l of listeners) l(e);
      return info;
    });
    return { step, child, exited };
  });
  req.log(
    `launched ${running.length} srun step(s): ${running.map((r) => `${r.step.role} ${compressHostlist(r.step.nodes)} (srun pid ${r.child.pid})`).join(', ')}`,
  );
  const allExited = Promise.all(running.map((r) => r.exited)).then(() => undefined);
  return {
    onExit: (cb) => {
      listeners.push(cb);
      for (const e of seen) cb(e); // a step that failed before anyone listened still counts
    },
    allExited,
    stop: async (graceMs) => {
      await Promise.all(running.map((r) => stopSrun(r, graceMs)));
    },
    pids: () => running.map((r) => r.child.pid).filter((p): p is number => p !== undefined),
  };
}

/**
 * TERM (srun forwards it to the tasks), then srun's forced termination (two SIGINTs), then KILL;
 * srun shares the controller's process group, so every signal goes to srun alone.
 */
function srunStopEscalation(graceMs: number): Escalation {
  return [
    { signal: 'SIGTERM', waitMs: graceMs },
    { signal: 'SIGINT', waitMs: SECOND_SIGINT_MS },
    { signal: 'SIGINT', waitMs: Math.max(graceMs, 1000) },
    { signal: 'SIGKILL', waitMs: KILL_WAIT_MS },
  ];
}

async function stopSrun(r: RunningStep, graceMs: number): Promise<void> {
  const report = await terminate({ process: r.child }, srunStopEscalation(graceMs));
  // the exit listeners (log, onExit) have run before stop resolves, as they did when it waited on r.exited
  if (report.exit !== undefined) await r.exited;
}
