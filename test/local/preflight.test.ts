// --preflight under the local launcher: every simulated node checks itself before its runtime starts
// (the facts are this machine's own), and a threshold no node meets fails the job with exit 4,
// naming each node and what it found, before any runtime started.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, exitWithin, fixtures, jobGone, runLocal } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('raysl run --local --preflight', () => {
  it('checks every node, logs what it found, and the job runs', async () => {
    const job = runLocal(['-N', '2', '--preflight', join(fixtures, 'hello.sh')]);
    const { code } = await exitWithin(job, 60_000);
    expect(code, job.stderr()).toBe(0);
    for (const n of ['node1', 'node2']) {
      const log = readFileSync(join(job.jobDir(), `agent-${n}.log`), 'utf8');
      expect(log).toMatch(
        /preflight: \/dev\/shm [\d.]+ [GM]iB; scratch [\d.]+ [GM]iB free in \/\S+; GPUs none bound; runtime builtin at \/\S+node/,
      );
    }
  });

  it('a threshold no node meets fails the job with exit 4 naming the node, what it found and a hint; nothing is left', async () => {
    const job = runLocal(['-N', '2', '--preflight-min', 'disk=999999G', join(fixtures, 'hello.sh')]);
    const { code } = await exitWithin(job, 60_000);
    expect(code).toBe(4);
    const err = job.stderr();
    expect(err).toMatch(/node[12] failed: preflight: \/\S* has [\d.]+ [GM]iB free, below the 999999\.0 GiB asked for/);
    // both nodes fail for the same reason milliseconds apart: both are counted and named as failed (issue 16)
    expect(err).toMatch(
      /^raysl: error: the cluster did not form: 2 node\(s\) failed before joining; 0\/2 nodes joined; missing: node1 \(preflight: .*node2 \(preflight: /m,
    );
    expect(err).not.toMatch(/still starting/);
    // a local job's hint names no Slurm-only remedy
    expect(err).toMatch(/hint: a simulated node is this machine: fix it, or lower the thresholds with --preflight-min/);
    expect(err).not.toMatch(/--sbatch-arg/);
    expect(job.stdout()).not.toMatch(/hello from the head/);
    const s = job.status();
    expect(s.state).toBe('failed');
    expect(s.nodes.some((n) => n.state === 'failed' && /^preflight: /.test(n.reason ?? ''))).toBe(true);
    expect(await jobGone(s.jobId, 10_000)).toEqual([]);
  });

  it('bad thresholds are a usage error before anything starts', async () => {
    const job = runLocal(['-N', '2', '--preflight-min', 'ram=4G', join(fixtures, 'hello.sh')]);
    const { code } = await exitWithin(job, 30_000);
    expect(code).toBe(2);
    expect(job.stderr()).toMatch(/--preflight-min: expected shm=<size> and\/or disk=<size>, received "ram=4G"/);
    expect(job.stderr()).toMatch(/hint: e\.g\. --preflight-min shm=8G,disk=20G/);
  });
});
