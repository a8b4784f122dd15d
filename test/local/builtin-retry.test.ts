/**
 * A node lost under running tasks (run --local, --continue-on-node-loss): a task with maxRetries
 * runs again on another node; one without fails with NodeLostError naming the node.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, exitWithin, fixtures, jobProcesses, runLocal } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

beforeAll(ensureBuilt);
const scratch = tempDir('raysl-retry-');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('builtin runtime: a node lost under running tasks', () => {
  it('retries the task that allows it elsewhere and fails the other with NodeLostError', async () => {
    const job = runLocal(['-N', '2', '--continue-on-node-loss', join(fixtures, 'retry-on-loss.ts')], {
      env: { MARKER: join(scratch, 'm') },
    });
    const m = await job.waitFor(/BOTH RUNNING ON (node\d)/, 20_000);
    const victim = m[1] as string;
    const pid = job.status().nodes.find((n) => n.name === victim)?.pid;
    expect(pid, JSON.stringify(job.status())).toBeGreaterThan(1);
    process.kill(pid as number, 'SIGKILL');
    const { code } = await exitWithin(job, 30_000);
    expect(code, job.stderr()).toBe(0);
    const o = JSON.parse(
      job
        .stdout()
        .split('\n')
        .find((l) => l.startsWith('{')) ?? 'null',
    );
    const other = victim === 'node1' ? 'node2' : 'node1';
    expect(o.retried).toEqual({ node: other, attempts: 2, stdout: `again on ${other}`, exitCode: 0 });
    expect(o.retries).toHaveLength(1);
    expect(o.retries[0]).toContain(victim);
    expect(o.once.lost).toBe(true);
    expect(o.once.message).toContain(victim);
    // the killed agent's commands (sleep 1000 in their own groups) did not outlive the job
    expect(jobProcesses(job.status().jobId)).toEqual([]);
  });
});
