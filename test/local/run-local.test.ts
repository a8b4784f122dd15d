import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { agentPids, allGone, ensureBuilt, exitWithin, runLocal } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('raysl run --local', () => {
  it('runs examples/train.ts on 4 nodes, prints a row per node, exits 0 and leaves nothing behind', async () => {
    const job = runLocal(['-N', '4', 'examples/train.ts']);
    const { code } = await exitWithin(job, 20_000);
    expect(code, job.stderr()).toBe(0);
    expect(job.stdout()).toMatch(/4 nodes, 16 CPUs, 0 GPUs/);
    for (const n of ['node1', 'node2', 'node3', 'node4'])
      expect(job.stdout()).toMatch(
        new RegExp(`^${n}\\s+(head|worker)\\s+127\\.0\\.1\\.\\d.*${n}\\s+\\d+-\\d+\\s+0\\s*$`, 'm'),
      );
    expect(job.stderr()).toMatch(/joined \(4 CPU, 0 GPU\) 4\/4/);

    const s = job.status();
    expect(s.state).toBe('succeeded');
    expect(s.exitCode).toBe(0);
    expect(s.joined.sort()).toEqual(['node1', 'node2', 'node3', 'node4']);
    const phases = s.timeline.map((e) => e.phase);
    for (const p of [
      'allocated',
      'agents-launched',
      'node-joined',
      'ready',
      'entrypoint-started',
      'entrypoint-exited',
      'torn-down',
    ] as const)
      expect(phases).toContain(p);
    expect(phases.at(-1)).toBe('torn-down');
    expect(await allGone(agentPids(s))).toEqual([]);

    const dir = job.jobDir();
    expect(statSync(join(dir, 'token')).mode & 0o777).toBe(0o600);
    // the master port is the first of the job's app ports, inside its own block, seen alike on every node
    const block = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as { base: number; size: number };
    const app = `${block.base + 8}-${block.base + 15}`; // builtin layout: app = offsets 8-15 (src/core/ports.ts)
    const log = readFileSync(join(dir, 'entrypoint.log'), 'utf8');
    expect(log).toContain(`kv master = 127.0.1.1:${block.base + 8}`);
    expect(log.split('\n').filter((l) => /^node\d\s/.test(l) && l.includes(app))).toHaveLength(4);
    for (const n of ['node1', 'node2', 'node3', 'node4']) expect(existsSync(join(dir, `agent-${n}.log`))).toBe(true);
  });

  it('exits with the entrypoint exit code', async () => {
    const job = runLocal(['-N', '2', 'examples/train.ts', '--', '--fail-with', '7']);
    const { code } = await exitWithin(job, 20_000);
    expect(code).toBe(7);
    expect(job.status()).toMatchObject({ state: 'failed', exitCode: 7 });
  });

  it('gives simulated GPUs to each node as CUDA_VISIBLE_DEVICES', async () => {
    const job = runLocal(['-N', '2', '--gpus-per-node', '2', 'examples/train.ts']);
    const { code } = await exitWithin(job, 20_000);
    expect(code, job.stderr()).toBe(0);
    expect(job.stdout()).toMatch(/2 nodes, 8 CPUs, 4 GPUs/);
    expect(job.stdout()).toMatch(/^node2\s+worker\s+127\.0\.1\.2\s+4\s+0,1\s/m);
  });
});
