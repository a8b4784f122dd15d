/**
 * Ray's libraries under the local launcher with the real Ray 2.60 (the venv of scripts/ray-venv.sh
 * has ray[default,train,tune,data,serve] and torch). Simulated nodes share this machine's port
 * space, so each has its own slice of the job's block: Serve's proxy on each node must take its
 * own node's port (RAY_SERVE_WORKER_PROXY_HTTP_PORT), the head's through raysl's Serve hook.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { exitWithin, jobProcesses, runLocal, type Job } from './helpers.js';
import type { Plan } from '../../src/core/types.js';

const rayEnv = (): NodeJS.ProcessEnv => ({
  RAYSL_RAY_BIN: inject('rayBin'),
  PATH: `${inject('rayVenvBin')}:${process.env.PATH ?? ''}`,
});

function blockOf(job: Job): { base: number; size: number } {
  return JSON.parse(readFileSync(join(job.jobDir(), 'ports.json'), 'utf8')) as { base: number; size: number };
}

function layoutOf(job: Job): Plan['portLayout'] {
  return (JSON.parse(readFileSync(join(job.jobDir(), 'plan.json'), 'utf8')) as Plan).portLayout;
}

function expectChecksPassed(out: string, okLines: number): void {
  const lines = out.split('\n');
  expect(lines.filter((l) => l.startsWith('FAIL '))).toEqual([]);
  expect(
    lines.filter((l) => l.startsWith('ok   ')),
    out,
  ).toHaveLength(okLines);
  expect(out).toMatch(/^checks: all passed$/m);
}

describe('Ray libraries under raysl run --local (real Ray 2.60)', () => {
  it("examples/ray/serve.py on 2 simulated nodes: a plain serve.run() listens on each node's own Serve port from the block, the entrypoint and node2 get this job's answer; nothing is left", async () => {
    const job = runLocal(['-N', '2', 'examples/ray/serve.py'], { env: rayEnv() });
    const { code } = await exitWithin(job, 240_000);
    const out = job.stdout();
    expect(code, job.stderr() + out).toBe(0);
    expectChecksPassed(out, 3);
    // node i's slice starts at base + i * size; Serve's HTTP port is offset 13 of a slice
    const b = blockOf(job);
    const size = layoutOf(job).size;
    const http = layoutOf(job).ports['serve_http']!;
    const [head, node2] = [b.base + http, b.base + size + http];
    expect(out).toMatch(new RegExp(`^job \\S+: 2 nodes, 2 replicas, Serve's HTTP port ${head}$`, 'm'));
    // Ray's own words for each proxy (its workers' log lines reach the driver's stderr): the head's
    // on the head's port, node2's on node2's
    const all = out + job.stderr();
    expect(all).toMatch(new RegExp(`ip=127\\.0\\.1\\.2\\).*Proxy starting on node \\w+ \\(HTTP port: ${node2}\\)`));
    expect(all).toMatch(new RegExp(`Application 'default' is ready at http://127\\.0\\.0\\.1:${head}/`));
    expect(all).not.toMatch(/HTTP port: 8000\b|127\.0\.0\.1:8000/);
    expect(job.status()).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(jobProcesses(job.status().jobId)).toEqual([]);
  }, 300_000);

  it('examples/ray/data.py on 2 simulated nodes: the exact sum, blocks on both nodes', async () => {
    const job = runLocal(['-N', '2', 'examples/ray/data.py'], { env: rayEnv() });
    const { code } = await exitWithin(job, 240_000);
    expect(code, job.stderr() + job.stdout()).toBe(0);
    expectChecksPassed(job.stdout(), 3);
    expect(job.stdout()).toMatch(/^ok {3}blocks processed on 2 nodes/m);
    expect(jobProcesses(job.status().jobId)).toEqual([]);
  }, 300_000);
});
