/**
 * `raysl run --local -N <n>` for n = 4 .. 254 (the -N bound): ready time (allocated -> ready in
 * status.json), teardown time (entrypoint exit -> torn down) and the CPU the whole job used (the
 * controller and every agent, from this process's cutime/cstime: raysl waits for its agents, the
 * bench waits for raysl). Baseline in the same run: n bare `node` processes started at once that each
 * connect to a socket and exit, the floor under "n agents joined" on this machine, and their CPU.
 * BENCH_N runs per size (default 2), BENCH_SIZES overrides the sizes (e.g. "4,16").
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childCpuMs, stats, writeResult } from './lib.js';
import type { JobStatus } from '../src/core/status.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'raysl.mjs');
const RUNS = Number(process.env.BENCH_N ?? 2);
const SIZES = (process.env.BENCH_SIZES ?? '4,16,64,128,254').split(',').map(Number);

function run(argv: string[]): Promise<{ code: number | null; ms: number }> {
  const t0 = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { cwd: root, stdio: ['ignore', 'ignore', 'ignore'] });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, ms: performance.now() - t0 })));
}

function at(s: JobStatus, phase: string): number {
  const e = s.timeline.find((x) => x.phase === phase);
  if (!e) throw new Error(`no ${phase} in status`);
  return e.t;
}

const entry = join(mkdtempSync(join(tmpdir(), 'raysl-bench-')), 'hello.sh');
writeFileSync(entry, '#!/bin/sh\necho hello\n', { mode: 0o755 });

async function raysl(n: number) {
  const ready: number[] = [];
  const teardown: number[] = [];
  const wall: number[] = [];
  const cpuPerNode: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const jobRoot = mkdtempSync(join(tmpdir(), 'raysl-bench-'));
    const c0 = childCpuMs();
    const r = await run([process.execPath, bundle, 'run', '--local', '-N', String(n), '--job-dir', jobRoot, entry]);
    const cpu = childCpuMs() - c0;
    const dir = join(jobRoot, readdirSync(jobRoot)[0]!);
    if (r.code !== 0) throw new Error(`-N ${n} exited ${r.code}; see ${dir}/controller.log`);
    const s = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as JobStatus;
    ready.push(at(s, 'ready') - at(s, 'allocated'));
    teardown.push(at(s, 'torn-down') - at(s, 'entrypoint-exited'));
    wall.push(r.ms);
    cpuPerNode.push(cpu / n);
    rmSync(jobRoot, { recursive: true, force: true });
  }
  return { ready: stats(ready), teardown: stats(teardown), wall: stats(wall), cpuMsPerNode: stats(cpuPerNode) };
}

/** n bare node processes at once, each connecting to a socket and exiting: the floor for n agents. */
async function bareNodes(n: number) {
  const wall: number[] = [];
  const cpuPerNode: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const code = `require('net').connect(${port},'127.0.0.1',function(){this.end()}).on('close',()=>process.exit(0))`;
    const c0 = childCpuMs();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => run([process.execPath, '-e', code])));
    wall.push(performance.now() - t0);
    cpuPerNode.push((childCpuMs() - c0) / n);
    server.close();
  }
  return { wall: stats(wall), cpuMsPerNode: stats(cpuPerNode) };
}

const sizes: Record<string, unknown> = {};
for (const n of SIZES) {
  sizes[n] = { raysl: await raysl(n), bareNodeProcesses: await bareNodes(n) };
  process.stdout.write(`-N ${n}: ${JSON.stringify(sizes[n])}\n`);
}
writeResult('local-scale', {
  runsPerSize: RUNS,
  cores: cpus().length,
  sizes,
  targets: { readyMsAt256: 3000, teardownMsAt256: 1000 },
});
