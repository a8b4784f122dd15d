import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { JobStatus, PhaseName } from '../../src/core/status.js';
import {
  agentPids,
  allGone,
  ensureBuilt,
  exitWithin,
  fixtures,
  jobProcesses,
  runLocal,
  statusWhere,
} from './helpers.js';
import { withFaults } from '../support/fault-env.js';

beforeAll(() => ensureBuilt(), 120_000);

const wait = join(fixtures, 'wait.sh');

/** The timeline after `from`, as "phase[ node][ code]" (torn-down without its code): what happened, in order. */
function phases(s: JobStatus, from: PhaseName): string[] {
  const i = s.timeline.findIndex((e) => e.phase === from);
  expect(i, `${from} in the timeline`).toBeGreaterThanOrEqual(0);
  return s.timeline
    .slice(i + 1)
    .map((e) =>
      [e.phase, e.node, e.phase === 'entrypoint-exited' ? e.code : undefined].filter((x) => x !== undefined).join(' '),
    );
}
const hooks = (node: string) => ({ env: withFaults({ RAYSL_TEST_FAIL_AGENT: node }) });

describe('raysl run --local failure paths', () => {
  it('a node that never joins: exit 4 at the join deadline, naming the node and its log', async () => {
    const job = runLocal(['-N', '4', '--join-timeout', '2', 'examples/train.ts'], hooks('node3'));
    const { code, ms } = await exitWithin(job, 15_000);
    expect(code).toBe(4);
    expect(ms).toBeGreaterThan(1500);
    expect(job.stderr()).toMatch(
      /did not form.*join timeout.*3\/4 nodes joined; missing: node3 \(connected but its runtime never came up; log: \S+agent-node3\.log\)/,
    );
    expect(job.stderr()).toMatch(/hint:/);
    const s = job.status();
    expect(s).toMatchObject({ state: 'failed', exitCode: 4 });
    expect(s.timeline.map((e) => e.phase)).not.toContain('entrypoint-started');
    expect(await allGone(agentPids(s))).toEqual([]);
  });

  it('an --iface the nodes lack: exit 4 at once (not at the join deadline), naming it and the interfaces there are', async () => {
    // a join deadline of 10 minutes, past the hang guard: ending at all means the nodes' failures ended it
    const job = runLocal(['-N', '2', '--iface', 'nosuch0', '--join-timeout', '600', 'examples/train.ts']);
    const { code } = await exitWithin(job, 60_000);
    expect(code).toBe(4);
    expect(job.stderr()).toMatch(/the cluster did not form: \d node\(s\) failed before joining/);
    expect(job.stderr()).not.toMatch(/join timeout/);
    expect(job.stderr()).toMatch(/network interface "nosuch0" not found on this node; it has: .*\blo\b/);
    expect(await allGone(agentPids(job.status()))).toEqual([]);
  });

  it('kill -9 of a worker agent mid-run: exit 5 because of the loss (first in the timeline), naming the node; nothing left', async () => {
    const job = runLocal(['-N', '3', wait]);
    const [, shPid, sleepPid] = await job.waitFor(/ready (\d+) (\d+)/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    const victim = s.nodes.find((n) => n.name === 'node2')!.pid!;
    process.kill(victim, 'SIGKILL');
    // the deadline only guards against a hang: wait.sh never ends by itself, so any end is the fault's doing
    const { code } = await exitWithin(job, 30_000);
    expect(code).toBe(5);
    expect(job.stderr()).toMatch(/node node2 was lost/);
    expect(job.stderr()).toMatch(/agent-node2\.log/);
    const end = job.status();
    expect(end).toMatchObject({ state: 'failed', exitCode: 5 });
    expect(end.nodes.find((n) => n.name === 'node2')?.state).toBe('lost');
    // the job ended because node2 was lost: the loss comes first, then the entrypoint was stopped, then teardown
    expect(phases(end, 'entrypoint-started')).toEqual([
      'node-lost node2',
      'entrypoint-exited 143',
      'error',
      'torn-down',
    ]);
    expect(end.timeline.find((e) => e.phase === 'error')?.detail).toMatch(/node node2 was lost/);
    expect(await allGone([...agentPids(s), Number(shPid), Number(sleepPid)])).toEqual([]);
  });

  it('SIGTERM to the controller while the cluster forms leaves no processes', async () => {
    // a join deadline of 10 minutes, past the hang guard: ending at all means the signal ended it
    const job = runLocal(['-N', '4', '--join-timeout', '600', wait], hooks('node4'));
    const s = await statusWhere(job, (x) => x.joined.length === 3 && x.nodes.every((n) => n.pid !== undefined));
    expect(jobProcesses(s.jobId).length).toBeGreaterThanOrEqual(4);
    job.child.kill('SIGTERM');
    const { code } = await exitWithin(job, 60_000);
    expect(code).toBe(143);
    expect(job.status().timeline.map((e) => e.phase)).not.toContain('entrypoint-started');
    expect(job.stdout()).not.toMatch(/ready/);
    expect(job.status().state).toBe('cancelled');
    expect(await allGone([job.child.pid!, ...agentPids(s)])).toEqual([]);
    expect(jobProcesses(s.jobId)).toEqual([]);
  });

  it('a second signal during teardown kills at once and still leaves nothing behind', async () => {
    // the entrypoint ignores TERM, so teardown would wait the whole grace (set to 10 minutes here, longer than the
    // test's hang guard): a KILL before the grace ends can only be the second signal's doing
    const job = runLocal(['-N', '2', join(fixtures, 'stubborn.sh')], {
      env: withFaults({ RAYSL_TEST_GRACE_MS: '600000' }),
    });
    const [, shPid] = await job.waitFor(/ready (\d+)/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    job.child.kill('SIGTERM');
    await job.waitFor(/received SIGTERM: tearing down/, 30_000, 'stderr');
    job.child.kill('SIGINT');
    const { code } = await exitWithin(job, 60_000);
    // the run was stopped by the user's TERM: 143, whatever finally stopped the entrypoint (the KILL, its 137 in the timeline)
    expect(code).toBe(143);
    // agents KILLed in the hurry were stopped by the user, not lost: no node-lost after the entrypoint started
    expect(phases(job.status(), 'entrypoint-started')).toEqual(['signal', 'entrypoint-exited 137', 'torn-down']);
    expect(job.status().nodes.map((n) => n.state)).toEqual(['stopped', 'stopped']);
    expect(job.stderr()).toMatch(/received SIGINT again: killing everything now/);
    expect(await allGone([job.child.pid!, ...agentPids(s), Number(shPid)])).toEqual([]);
  });
});
