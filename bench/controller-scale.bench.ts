// One real controller (runController in-process, injected edges) against N simulated agents
// (N = 512, 1024, 2048, 4096) from 4 processes (controller-scale-agents.ts), over real sockets with
// the real agent protocol. Each N runs in a fresh process so its RSS growth is its own.
// Measured per N: last agent connect -> all joined (the controller's "cluster ready"; target < 2 s at
// 4096), launch -> all joined, the controller process's CPU time and RSS growth, each per node.
// launch -> all joined includes the 4 agent processes starting (node + tsx).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { EventEmitter } from 'node:events';
import { runController } from '../src/controller/controller.js';
import type { AgentExit, LaunchRequest, Launcher } from '../src/controller/launcher.js';
import type { Plan } from '../src/core/types.js';
import { writeResult } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const SIZES = (process.env.BENCH_SIZES ?? '512,1024,2048,4096').split(',').map(Number);
const PROCS = 4;

interface Worker {
  agents: number;
  started: number;
  firstConnect: number;
  lastConnect: number;
  errors: string[];
  errorCount: number;
}

/** Starts the simulated agents: PROCS processes, each with its share of the targets. */
function simLauncher(reports: Worker[]): Launcher {
  return {
    name: 'srun',
    sharedPortSpace: false,
    resolveAddresses: async (nodes) => Object.fromEntries(nodes.map((n) => [n, '127.0.0.1'])),
    takenBlocks: async () => [],
    recordBlock: async () => {},
    releaseBlock: async () => {},
    launch: async (req: LaunchRequest) => {
      const events = new EventEmitter<{ exit: [AgentExit] }>();
      const per = Math.ceil(req.targets.length / PROCS);
      const children = Array.from({ length: PROCS }, (_, i) => {
        const mine = req.targets
          .slice(i * per, (i + 1) * per)
          .map((t) => ({ node: t.node, role: t.role, address: t.address }));
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', join(here, 'controller-scale-agents.ts'), req.controller, JSON.stringify(mine)],
          {
            env: req.env,
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        const exited = new Promise<void>((r) =>
          child.on('exit', (code, signal) => {
            if (out.trim()) reports.push(JSON.parse(out.trim()) as Worker);
            events.emit('exit', { nodes: mine.map((m) => m.node), code, signal });
            r();
          }),
        );
        return { child, exited };
      });
      const allExited = Promise.all(children.map((c) => c.exited)).then(() => {});
      return {
        onExit: (cb) => void events.on('exit', cb),
        allExited,
        stop: async () => {
          for (const c of children) c.child.kill('SIGKILL');
          await allExited;
        },
        pids: () => children.map((c) => c.child.pid ?? 0),
      };
    },
  };
}

function plan(jobDir: string, n: number): Plan {
  return {
    version: 1,
    raysl: 'bench',
    runtime: 'builtin',
    runtimeReason: 'bench',
    entrypoint: { path: '/bin/true', args: [], interpreter: [], kind: 'exec' },
    nodes: n,
    minNodes: n,
    perNode: { cpus: 1, gpus: 0 },
    aggregate: { cpus: n, gpus: 0 },
    portLayout: { size: 64, ports: { controller: 0, agent: 1 }, ranges: {} },
    portRange: { min: 20000, max: 32767 },
    joinTimeoutSec: 120,
    jobDir,
    env: {},
    setup: [],
    continueOnNodeLoss: false,
    rayAuth: 'token',
    sbatch: [],
    sbatchExtra: [],
    jobName: 'bench',
    checkedAgainst: 'local',
    warnings: [],
  };
}

/** One size, in this process: the controller's figures as one JSON line on stdout. */
async function one(n: number): Promise<void> {
  const jobDir = mkdtempSync(join(tmpdir(), 'raysl-bench-scale-'));
  const reports: Worker[] = [];
  let readyAt = 0;
  let readyCpu: NodeJS.CpuUsage | undefined;
  let readyRss = 0;
  let launchedAt = 0;
  let cpuAtLaunch: NodeJS.CpuUsage | undefined;
  let buf = '';
  const stderr = new Writable({
    write: (c: Buffer, _e, cb) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('control server on ')) {
          launchedAt = Date.now();
          cpuAtLaunch = process.cpuUsage();
        }
        if (line.includes('cluster ready:')) {
          readyAt = Date.now();
          readyCpu = process.cpuUsage(cpuAtLaunch);
          readyRss = process.memoryUsage().rss;
        }
        if (/error|failed|lost/.test(line)) process.stderr.write(line + '\n');
      }
      cb();
    },
  });
  const cpu0 = process.cpuUsage();
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  const code = await runController(plan(jobDir, n), {
    env: { SLURM_JOB_ID: `s${n}`, SLURM_JOB_NODELIST: `sim[1-${n}]`, PATH: process.env.PATH },
    stdout: new Writable({ write: (_c, _e, cb) => cb() }),
    stderr,
    now: Date.now,
    cwd: jobDir,
    launcher: simLauncher(reports),
    agentArgv: ['unused'],
    signals: new EventEmitter(),
    graceMs: 10_000,
  });
  const totalMs = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  rmSync(jobDir, { recursive: true, force: true });
  const lastConnect = Math.max(...reports.map((r) => r.lastConnect));
  const firstConnect = Math.min(...reports.map((r) => r.firstConnect));
  const errors = reports.reduce((a, r) => a + r.errorCount, 0);
  const started = reports.reduce((a, r) => a + r.started, 0);
  if (code !== 0 || started !== n || errors > 0 || !readyCpu)
    throw new Error(
      `n=${n}: exit ${code}, ${started}/${n} started, ${errors} errors: ${reports.flatMap((r) => r.errors).join('; ')}`,
    );
  const joinCpuMs = (readyCpu.user + readyCpu.system) / 1000;
  process.stdout.write(
    JSON.stringify({
      nodes: n,
      lastConnectToAllJoinedMs: readyAt - lastConnect,
      firstConnectToLastConnectMs: lastConnect - firstConnect,
      launchToAllJoinedMs: readyAt - launchedAt,
      joinPhaseCpuMs: Math.round(joinCpuMs),
      joinPhaseCpuUsPerNode: Math.round((joinCpuMs * 1000) / n),
      wholeJobCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      wholeJobMs: totalMs,
      rssGrowthMiB: Math.round(((readyRss - rss0) / 2 ** 20) * 10) / 10,
      rssGrowthKiBPerNode: Math.round((readyRss - rss0) / 1024 / n),
    }) + '\n',
  );
}

if (process.argv[2] === '--one') {
  await one(Number(process.argv[3]));
} else {
  const rows: Array<Record<string, number>> = [];
  for (const n of SIZES) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', String(n)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`controller-scale: n=${n} failed (exit ${r.status}, signal ${r.signal})`);
    const row = JSON.parse(r.stdout.toString().trim().split('\n').at(-1) as string) as Record<string, number>;
    process.stdout.write(`${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  const first = rows[0] as Record<string, number>;
  const last = rows.at(-1) as Record<string, number>;
  const perNode = (r: Record<string, number>) => (r.launchToAllJoinedMs as number) / (r.nodes as number);
  writeResult('controller-scale', {
    agentProcesses: PROCS,
    sizes: rows,
    linearity: {
      note: 'per-node join cost at the largest N over the smallest: 1.0 is linear, N/N0 would be quadratic',
      launchToJoinedPerNodeRatio: Math.round((perNode(last) / perNode(first)) * 100) / 100,
      cpuPerNodeRatio:
        Math.round(((last.joinPhaseCpuUsPerNode as number) / (first.joinPhaseCpuUsPerNode as number)) * 100) / 100,
      quadraticWouldBe: (last.nodes as number) / (first.nodes as number),
    },
    targets: { lastConnectToAllJoinedMsAt4096: 2000 },
  });
}
