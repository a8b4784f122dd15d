/**
 * The srun launcher (real Slurm): ONE step for the head agent and ONE step for all workers,
 * both `--overlap` (so later steps of the job are not blocked) and with GRES per agent so Slurm
 * binds each agent's GPUs. Addresses come from one `scontrol show node` call; other jobs' port
 * blocks from squeue's Comment field, where we record ours too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import type { PortBlock } from '../core/types.js';
import { compressHostlist, expandHostlist } from '../core/nodelist.js';
import { parsePortRecord, withPortRecord } from '../core/ports.js';
import { SlurmError } from '../core/errors.js';
import { srunArgv } from '../slurm/srun.js';
import { showNodes, updateJobComment } from '../slurm/scontrol.js';
import { listJobs } from '../slurm/squeue.js';
import { exitOf, within } from '../controller/terminate.js';
import type { AgentExit, LaunchedAgents, Launcher, LaunchRequest } from './types.js';

export function srunLauncher(opts: { env: NodeJS.ProcessEnv }): Launcher {
  const slurm = { env: opts.env };
  let ownComment = '';
  return {
    name: 'srun',
    async resolveAddresses(nodes) {
      const info = await showNodes(compressHostlist(nodes), slurm);
      const out: Record<string, string> = {};
      for (const n of nodes) {
        const rec = info.find((i) => i.name === n);
        if (!rec) throw new SlurmError(`scontrol show node did not describe ${n}`, { hint: 'check `scontrol show node ' + n + '`' });
        // NodeAddr may be a name: the runtime binds an address, never 0.0.0.0
        out[n] = isIP(rec.addr) ? rec.addr : (await lookup(rec.addr, { family: 4 })).address;
      }
      return out;
    },
    async takenBlocks(jobId, nodes) {
      const ours = new Set(nodes);
      const taken: PortBlock[] = [];
      for (const job of await listJobs({}, slurm)) {
        if (job.id === jobId) {
          ownComment = job.comment;
          continue;
        }
        if (job.nodelist === '' || job.nodelist === '(null)') continue;
        const block = parsePortRecord(job.comment);
        if (block && expandHostlist(job.nodelist).some((n) => ours.has(n))) taken.push(block);
      }
      return taken;
    },
    async recordBlock(jobId, block) {
      await updateJobComment(jobId, withPortRecord(ownComment, block), slurm);
    },
    async releaseBlock() {
      // Slurm forgets the Comment with the job
    },
    async launch(req) {
      return launchSteps(req);
    },
  };
}

interface Step {
  nodes: string[];
  child: ChildProcess;
  exited: Promise<void>;
}

function launchSteps(req: LaunchRequest): LaunchedAgents {
  const head = req.targets.filter((t) => t.role === 'head');
  const workers = req.targets.filter((t) => t.role === 'worker');
  const listeners: Array<(e: AgentExit) => void> = [];
  const dir = dirname(req.targets[0]?.log ?? '.');
  const steps: Step[] = [];
  for (const [role, group] of [['head', head], ['worker', workers]] as const) {
    if (group.length === 0) continue;
    const argv = srunArgv({
      nodes: group.length,
      nodelist: compressHostlist(group.map((t) => t.node)),
      ntasksPerNode: 1,
      cpusPerTask: req.perNode.cpus,
      ...(req.perNode.gpus > 0 ? { gpusPerNode: req.perNode.gpus } : {}),
      overlap: true,
      jobName: `raysl-agent-${role}`,
      // one file per node: %N is the node's short hostname
      output: `${dir}/agent-%N.log`,
      extra: ['--open-mode=append', '--kill-on-bad-exit=0'],
      command: [...req.agentArgv, '--controller', req.controller, '--role', role],
    });
    const [cmd, ...args] = argv;
    // own process group: a terminal's Ctrl-C reaches the controller, which stops srun its own way
    const child = spawn(cmd as string, args, { env: req.env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child.stderr?.on('data', (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n')) if (line.trim() !== '') req.log(`srun (${role}): ${line.trim()}`);
    });
    const nodes = group.map((t) => t.node);
    const exited = exitOf(child).then((info) => {
      for (const l of listeners) l({ nodes, code: info.code, signal: info.signal });
    });
    steps.push({ nodes, child, exited });
    req.log(`launched ${role} step on ${compressHostlist(nodes)} (srun pid ${child.pid})`);
  }
  return {
    onExit: (cb) => void listeners.push(cb),
    allExited: Promise.all(steps.map((s) => s.exited)).then(() => undefined),
    stop: async (graceMs) => {
      await Promise.all(steps.map((s) => stopStep(s, graceMs)));
    },
    pids: () => steps.map((s) => s.child.pid).filter((p): p is number => p !== undefined),
  };
}

/**
 * srun's own forced termination: SIGINT twice within a second ("forcing job termination"); the
 * second one goes when srun has acknowledged the first on stderr, so the two cannot merge into one
 * pending signal. KILL after the grace if srun is still there.
 */
async function stopStep(step: Step, graceMs: number): Promise<void> {
  const { child } = step;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const acked = new Promise<void>((resolve) => {
    const onData = (b: Buffer) => {
      if (/one more within 1 sec|interrupt/i.test(b.toString())) {
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
  });
  child.kill('SIGINT');
  await within(acked, 300);
  child.kill('SIGINT');
  if ((await within(step.exited, graceMs)) === 'timeout') {
    child.kill('SIGKILL');
    await within(step.exited, 1000);
  }
}
