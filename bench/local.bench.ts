/**
 * `raysl run --local -N 4 examples/train.ts`: wall time, join time (agents launched -> last join),
 * teardown time (entrypoint exit -> all torn down) and agent RSS, each next to a baseline measured
 * in the same run: 4 bare node processes that connect to a socket and exit (the floor for starting
 * 4 agents), tsx running a trivial script (the floor for a .ts entrypoint), a bare idle node's RSS.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { stats, writeResult } from './lib.js';
import type { JobStatus } from '../src/core/status.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'raysl.mjs');
const tsx = createRequire(join(root, 'package.json')).resolve('tsx/cli');
const N = Number(process.env.BENCH_N ?? 5);

function run(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; ms: number; stdout: string }> {
  const t0 = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, ms: performance.now() - t0, stdout })));
}

function at(s: JobStatus, phase: string, last = false): number {
  const evs = s.timeline.filter((e) => e.phase === phase);
  const e = last ? evs.at(-1) : evs[0];
  if (!e) throw new Error(`no ${phase} in status`);
  return e.t;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function raysl() {
  const wall: number[] = [];
  const join_: number[] = [];
  const teardown: number[] = [];
  for (let i = 0; i < N; i++) {
    const jobRoot = mkdtempSync(join(tmpdir(), 'raysl-bench-'));
    const r = await run([
      process.execPath,
      bundle,
      'run',
      '--local',
      '-N',
      '4',
      '--job-dir',
      jobRoot,
      'examples/train.ts',
    ]);
    if (r.code !== 0) throw new Error(`run exited ${r.code}`);
    const dir = join(jobRoot, readdirSync(jobRoot)[0]!);
    const s = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as JobStatus;
    wall.push(r.ms);
    join_.push(at(s, 'node-joined', true) - at(s, 'agents-launched'));
    teardown.push(at(s, 'torn-down') - at(s, 'entrypoint-exited'));
  }
  return { wall: stats(wall), join: stats(join_), teardown: stats(teardown) };
}

/** 4 bare node processes that connect to a socket and exit: the floor under "4 agents joined". */
async function baselineConnect(): Promise<ReturnType<typeof stats>> {
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const code = `require('net').connect(${port},'127.0.0.1',function(){this.end()}).on('close',()=>process.exit(0))`;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => run([process.execPath, '-e', code])));
    samples.push(performance.now() - t0);
    server.close();
  }
  return stats(samples);
}

async function baselineTsx(): Promise<ReturnType<typeof stats>> {
  const file = join(mkdtempSync(join(tmpdir(), 'raysl-bench-')), 'noop.ts');
  writeFileSync(file, 'const x: number = 1; console.log(x);\n');
  const samples: number[] = [];
  for (let i = 0; i < N; i++) samples.push((await run([process.execPath, tsx, file])).ms);
  return stats(samples);
}

async function agentRss(): Promise<{ agentsKb: number[]; bareNodeKb: number }> {
  const jobRoot = mkdtempSync(join(tmpdir(), 'raysl-bench-'));
  const child = spawn(
    process.execPath,
    [bundle, 'run', '--local', '-N', '4', '--job-dir', jobRoot, join(root, 'test/local/fixtures/wait.sh')],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  await new Promise<void>((r) => child.stdout.on('data', (b: Buffer) => b.toString().includes('ready') && r()));
  const dir = join(jobRoot, readdirSync(jobRoot)[0]!);
  const s = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as JobStatus;
  const agentsKb = s.nodes.map((n) => rssKb(n.pid!));
  const closed = new Promise((r) => child.on('close', r));
  child.kill('SIGTERM');
  await closed;
  const bare = spawn(
    process.execPath,
    ['-e', "require('net').createServer().listen(0,'127.0.0.1',()=>console.log('up'))"],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await new Promise<void>((r) => bare.stdout.on('data', () => r()));
  const bareNodeKb = rssKb(bare.pid!);
  bare.kill();
  return { agentsKb, bareNodeKb };
}

const result = {
  raysl: await raysl(),
  baseline4NodeConnect: await baselineConnect(),
  baselineTsxNoop: await baselineTsx(),
  rss: await agentRss(),
  targets: { wallMs: 3000, teardownMs: 1000, agentRssKb: 80 * 1024 },
};
writeResult('local', result);
