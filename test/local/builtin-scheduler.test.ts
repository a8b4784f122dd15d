/**
 * The builtin runtime's resource model end to end under `run --local` (real agents, real
 * processes): fractional GPUs, in-order pending, rejections, placement groups, cancellation,
 * timeouts and services, driven by test/local/fixtures/scheduler-semantics.ts on 2 nodes x 1 GPU.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, exitWithin, fixtures, runLocal } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

beforeAll(ensureBuilt);
const scratch = tempDir('raysl-sched-');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('builtin runtime scheduler (run --local, 2 nodes x 1 GPU)', () => {
  it('packs fractional GPUs, queues in order, rejects the impossible, reserves groups, cancels, times out and serves', async () => {
    const fifo = join(scratch, 'go');
    execFileSync('mkfifo', [fifo]);
    const job = runLocal(
      ['-N', '2', '--gpus-per-node', '1', '--cpus-per-node', '4', join(fixtures, 'scheduler-semantics.ts')],
      { env: { GO_FIFO: fifo } },
    );
    const { code } = await exitWithin(job, 60_000);
    expect(code, job.stderr()).toBe(0);
    const line = job
      .stdout()
      .split('\n')
      .find((l) => l.startsWith('{'));
    expect(line, job.stdout()).toBeDefined();
    const o = JSON.parse(line as string);

    // four 0.5 tasks: two on each node's only device, all at once (they waited on one FIFO together)
    const perNode = (o.four as Array<{ node: string; gpuIds: string[]; seen: string; exitCode: number }>).reduce<
      Record<string, number>
    >((a, t) => ({ ...a, [t.node]: (a[t.node] ?? 0) + 1 }), {});
    expect(perNode).toEqual({ node1: 2, node2: 2 });
    for (const t of o.four) {
      expect(t.gpuIds).toEqual(['0']);
      expect(t.seen).toBe('0');
      expect(t.exitCode).toBe(0);
    }
    expect(o.availableWhileFull.gpus).toBe(0);
    expect(o.fifth).toMatchObject({ waited: true, seen: 'fifth 0', startedAfterFirstEnd: true });

    expect(o.gpus15).toMatch(/^infeasible: .*whole/);
    expect(o.gpus2).toMatch(/^infeasible: .*GPU/);
    expect(o.cpus99).toMatch(/^infeasible: .*CPU/);
    expect(o.unknownNode).toMatch(/^infeasible: .*node9/);

    expect(o.spread3).toMatch(/^infeasible: .*STRICT_SPREAD/);
    expect([...o.pg.nodes].sort()).toEqual(['node1', 'node2']);
    expect(o.pg.bundle1Node).toBe(o.pg.nodes[1]);
    expect(o.pg.seen).toBe('0');
    expect(o.freeWhileReserved).toBe(0);
    expect(o.freeAfterRemove).toBe(2);

    expect(o.cancelled).toBe('cancelled');
    expect(o.cancelledGone.pid).toBeGreaterThan(1);
    expect(o.cancelledGone).toMatchObject({ alive: false, nextOnSameNode: 0 });
    expect(o.timeout.timedOut).toBe(true);
    expect(['SIGTERM', 'SIGKILL']).toContain(o.timeout.signal);

    expect(o.service.body).toBe(`hi from ${o.service.node}`);
    expect(o.service.port).toBeGreaterThan(0);
    expect(o.service).toMatchObject({ freeWithService: 1, stoppedBy: 'SIGTERM', freeAfter: 2 });
    expect(o.totals).toMatchObject({ nodes: 2, cpus: 8, gpus: 2 });

    // every task's output is in the job's task log, prefixed with its id and node
    const taskLog = readFileSync(join(job.jobDir(), 'tasks.log'), 'utf8');
    expect(taskLog).toMatch(/^\[t\d+ node[12]\] fifth 0$/m);
  });
});
