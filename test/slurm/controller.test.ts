// Failure paths of a real job, seen through `raysl submit --follow`: a node that never joins gives
// exit 4 naming it; a worker agent killed with SIGKILL mid-run gives exit 5, the loss first in the status timeline; neither leaves
// a process of the job behind on any node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobStatus } from '../../src/core/status.js';
import { describe, expect, it } from 'vitest';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { processAlive } from '../../src/proc/identity.js';
import { holdEntrypoint, newJobRoot, raysl, root, submittedId, waitForStatus } from './raysl-cli.js';
import { withFaults } from '../support/fault-env.js';

slurmConf();
const hooks = (node: string) => withFaults({ RAYSL_TEST_FAIL_AGENT: node });
const train = join(root, 'examples', 'train.ts');

describe('raysl submit: the cluster does not form or loses a node', () => {
  it('a node that never joins fails the job with exit 4 naming the node and its log', async () => {
    const jobRoot = newJobRoot('nojoin');
    // --env refuses RAYSL_* keys; sbatch exports the submitter's environment to the job instead
    const c = raysl(['submit', '-N', '4', '--join-timeout', '3', '--job-dir', jobRoot, train, '--follow'], {
      env: hooks('node3'),
    });
    const jobId = await submittedId(c);
    expect(await c.exited).toBe(4);
    const err = c.stderr();
    // the join deadline's own error and hint, naming the node that never came up and its log
    expect(err).toMatch(
      /the cluster did not form: join timeout of 3\.0s passed; 3\/4 nodes joined; missing: node3 \(connected but its runtime never came up; log: \S*\/agent-node3\.log\)/,
    );
    expect(err).toMatch(
      /^ {2}hint: read the agent log\(s\) named above; raise --join-timeout if nodes are just slow, or lower --min-nodes$/m,
    );
    for (const n of ['node1', 'node2', 'node4']) expect(err).toMatch(new RegExp(`${n} joined`));
    expect(err).not.toMatch(/node3 joined/);
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });

  it('SIGKILL of a worker agent mid-run ends the job with exit 5 because of the loss (first in the timeline), naming the node', async () => {
    const jobRoot = newJobRoot('kill9');
    const hold = holdEntrypoint(jobRoot);
    const c = raysl(['submit', '-N', '3', '--job-dir', jobRoot, hold.path, '--follow']);
    const jobId = await submittedId(c);
    const s = await waitForStatus(jobRoot, jobId, 'state running', (x) => x.state === 'running');
    await c.waitFor(/holding until/, 30_000, 'stdout');
    const victim = s.nodes.find((n) => n.name === 'node2')!;
    expect(victim.pid, 'node2 agent pid in status.json').toBeGreaterThan(0);
    expect(processAlive(victim.pid!)).toBe(true);
    process.kill(victim.pid!, 'SIGKILL');
    const code = await c.exited;
    expect(code, c.stderr()).toBe(5);
    expect(c.stderr()).toMatch(/node node2 was lost/);
    // the fault ended the job (the held entrypoint would only end by itself after a minute, with 9):
    // node2's loss is the first thing after the start, then the entrypoint was stopped, then teardown
    const end = JSON.parse(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8')) as JobStatus;
    expect(end).toMatchObject({ state: 'failed', exitCode: 5 });
    const after = end.timeline.slice(end.timeline.findIndex((e) => e.phase === 'entrypoint-started') + 1);
    expect(after[0]).toMatchObject({ phase: 'node-lost', node: 'node2' });
    const exited = after.find((e) => e.phase === 'entrypoint-exited');
    expect(exited?.code, 'stopped by raysl, not ended by itself').not.toBe(9);
    expect(after.at(-1)?.phase).toBe('torn-down');
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });
});
