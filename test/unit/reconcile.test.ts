// reconcile(status, facts): a non-final status.json contradicted by a fact reads as `lost`, with why.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { reconcile, type LivenessFacts } from '../../src/core/reconcile.js';
import { initialStatus, withPhase, withState, type JobState, type JobStatus } from '../../src/core/status.js';
import { processStartTicks, selfIdentity, stillRunning } from '../../src/proc/identity.js';

function status(launcher: 'local' | 'srun', state: JobState): JobStatus {
  const s = initialStatus({
    jobId: launcher === 'local' ? 'local-1-2' : '42',
    runtime: 'builtin',
    launcher,
    nodes: [{ name: 'node1', address: '127.0.1.1', role: 'head', log: '/j/agent-node1.log' }],
    minNodes: 1,
    startedAtMs: 0,
    controllerPid: 4242,
  });
  return withState(s, state);
}

type Row = [
  launcher: 'local' | 'srun',
  recorded: JobState,
  facts: LivenessFacts,
  shown: string,
  why: RegExp | undefined,
];

const rows: Row[] = [
  // local: the controller's pid (same start time) decides
  ['local', 'running', { controllerAlive: false }, 'lost', /controller \(pid 4242\) is gone.*still says running/],
  ['local', 'forming', { controllerAlive: false }, 'lost', /still says forming/],
  ['local', 'starting', { controllerAlive: false }, 'lost', /gone/],
  ['local', 'tearing-down', { controllerAlive: false }, 'lost', /still says tearing-down/],
  ['local', 'running', { controllerAlive: true }, 'running', undefined],
  ['local', 'running', {}, 'running', undefined], // cannot tell (another host): the record stands
  ['local', 'succeeded', { controllerAlive: false }, 'succeeded', undefined],
  ['local', 'failed', { controllerAlive: false }, 'failed', undefined],
  ['local', 'cancelled', { controllerAlive: false }, 'cancelled', undefined],
  // a local job never asks Slurm
  ['local', 'running', { slurm: 'unlisted' }, 'running', undefined],
  // Slurm: its final state or its silence decides
  [
    'srun',
    'running',
    { slurm: { state: 'FAILED', reason: 'NonZeroExitCode' } },
    'lost',
    /Slurm ended the job FAILED \(NonZeroExitCode\).*still says running/,
  ],
  ['srun', 'forming', { slurm: { state: 'CANCELLED', reason: 'None' } }, 'lost', /ended the job CANCELLED before/],
  ['srun', 'running', { slurm: { state: 'NODE_FAIL' } }, 'lost', /NODE_FAIL/],
  ['srun', 'running', { slurm: { state: 'COMPLETED' } }, 'lost', /COMPLETED/],
  ['srun', 'running', { slurm: 'unlisted' }, 'lost', /no longer lists the job; status\.json still says running/],
  ['srun', 'running', { slurm: { state: 'RUNNING' } }, 'running', undefined],
  ['srun', 'tearing-down', { slurm: { state: 'COMPLETING' } }, 'tearing-down', undefined],
  ['srun', 'running', {}, 'running', undefined], // Slurm unreachable: the record stands
  ['srun', 'succeeded', { slurm: 'unlisted' }, 'succeeded', undefined],
  ['srun', 'failed', { slurm: { state: 'FAILED' } }, 'failed', undefined],
  // the pid fact is for local jobs only (an srun controller runs on the batch host)
  ['srun', 'running', { controllerAlive: false, slurm: { state: 'RUNNING' } }, 'running', undefined],
  // the agents' own records: witnesses only when neither the pid nor Slurm could be asked
  [
    'srun',
    'running',
    { agentsSawLoss: [{ node: 'node2', at: '1970-01-01T00:00:05.000Z' }] },
    'lost',
    /^agent node2 saw the controller go away at 1970-01-01T00:00:05\.000Z; status\.json still says running$/,
  ],
  [
    'srun',
    'forming',
    { agentsSawLoss: [seen('node3', 9), seen('node2', 7), seen('node4', 8)] },
    'lost',
    /^agent node2 \(and 2 other agents\) saw .* at 1970-01-01T00:00:07\.000Z; .*forming$/,
  ],
  ['local', 'running', { agentsSawLoss: [seen('node1', 3)] }, 'lost', /agent node1 saw the controller go away/],
  ['srun', 'running', { slurm: { state: 'RUNNING' }, agentsSawLoss: [seen('node2', 3)] }, 'running', undefined], // Slurm is asked: it decides
  ['local', 'running', { controllerAlive: true, agentsSawLoss: [seen('node2', 3)] }, 'running', undefined], // the controller is there
  ['srun', 'running', { agentsSawLoss: [{ node: 'node2', at: '1969-12-31T23:59:59.000Z' }] }, 'running', undefined], // an earlier job's record
  ['srun', 'succeeded', { agentsSawLoss: [seen('node2', 3)] }, 'succeeded', undefined],
  ['srun', 'running', { agentsSawLoss: [] }, 'running', undefined],
];

function seen(node: string, second: number): { node: string; at: string } {
  return { node, at: new Date(second * 1000).toISOString() };
}

describe('reconcile', () => {
  it.each(rows)('%s job recorded %s with %j reads as %s', (launcher, recorded, facts, shown, why) => {
    const r = reconcile(status(launcher, recorded), facts);
    expect(r.state).toBe(shown);
    if (why) expect(r.reason).toMatch(why);
    else expect(r.reason).toBeUndefined();
  });
});

describe('reconcile: a forced end after raysl cancel, the nodes once the controller is gone (issue 16)', () => {
  const asked = { at: new Date(1000).toISOString(), graceSec: 1 };
  it.each<[launcher: 'local' | 'srun', facts: LivenessFacts]>([
    ['local', { controllerAlive: false, cancelRequested: asked }],
    ['srun', { slurm: { state: 'CANCELLED', reason: 'None' }, cancelRequested: asked }],
  ])('%s: a controller killed after the cancel grace reads cancelled, with why', (launcher, facts) => {
    const r = reconcile(status(launcher, 'tearing-down'), facts);
    expect(r.state).toBe('cancelled');
    expect(r.reason).toMatch(
      /raysl cancel asked for an orderly stop at 1970-01-01T00:00:01\.000Z; the controller had not finished it after the 1s --grace and was killed/,
    );
  });

  it('a cancel request older than this attempt does not count', () => {
    const s = { ...status('local', 'running'), startedAt: new Date(5000).toISOString() };
    expect(reconcile(s, { controllerAlive: false, cancelRequested: asked }).state).toBe('lost');
  });

  it("nodes status.json left joined read as their agents' endings said, or lost without one", () => {
    const s = status('local', 'running');
    const two = {
      ...s,
      nodes: [
        { ...s.nodes[0]!, state: 'joined' as const },
        {
          name: 'node2',
          address: '127.0.1.2',
          role: 'worker' as const,
          state: 'joined' as const,
          log: '/j/agent-node2.log',
        },
      ],
    };
    const r = reconcile(two, {
      controllerAlive: false,
      agentEndings: [
        { node: 'node1', outcome: 'lost', line: 'controller gone: stopped', at: '2026-12-05T00:00:00.000Z' },
      ],
    });
    expect(r.state).toBe('lost');
    expect(r.nodes?.map((n) => [n.name, n.state])).toEqual([
      ['node1', 'stopped'],
      ['node2', 'lost'],
    ]);
    expect(r.nodes?.[0]?.reason).toBe('its agent ended at 2026-12-05T00:00:00.000Z (lost): controller gone: stopped');
    expect(r.nodes?.[1]?.reason).toMatch(/no record of its end/);
    expect(reconcile(two, { controllerAlive: true }).nodes).toBeUndefined();
  });

  it('a final cancel (143) with Slurm saying NODE_FAIL reads failed with 5: a node failure has one exit code', () => {
    const s = { ...status('srun', 'cancelled'), exitCode: 143 };
    expect(reconcile(s, { slurm: { state: 'NODE_FAIL' } })).toEqual({
      state: 'failed',
      exitCode: 5,
      reason:
        'a node failed: Slurm ended the job NODE_FAIL; the controller saw only its stop and recorded cancelled (exit 143)',
    });
    expect(reconcile({ ...s, state: 'failed', exitCode: 5 }, { slurm: { state: 'NODE_FAIL' } })).toEqual({
      state: 'failed',
    });
    expect(reconcile(s, { slurm: { state: 'CANCELLED' } })).toEqual({ state: 'cancelled' });
  });

  it("Slurm's JobLaunchFailure is explained (the batch step is the controller)", () => {
    const r = reconcile(status('srun', 'running'), { slurm: { state: 'FAILED', reason: 'JobLaunchFailure' } });
    expect(r.reason).toMatch(
      /JobLaunchFailure: what Slurm reports when the batch step ends abnormally; the batch step is the raysl controller, so it was killed/,
    );
  });
});

describe('reconcile: a requeued attempt (--requeue)', () => {
  const requeued = (): JobStatus => ({
    ...withPhase(status('srun', 'preempted'), 1000, { phase: 'requeued', detail: 'requeued after ...' }),
    exitCode: 6,
    attempt: 0,
  });
  it.each([
    [{ slurm: { state: 'PENDING', reason: 'BeginTime' } }, 'requeued'],
    [{ slurm: { state: 'RUNNING' } }, 'requeued'], // the next attempt runs but has not written its record yet
    [{ slurm: { state: 'COMPLETED' } }, 'preempted'], // the requeue failed or was undone: the record stands
    [{ slurm: 'unlisted' as const }, 'preempted'],
    [{}, 'preempted'], // Slurm unreachable
  ])('with Slurm %j it reads as %s', (facts, shown) => {
    const r = reconcile(requeued(), facts);
    expect(r.state).toBe(shown);
    if (shown === 'requeued')
      expect(r.reason).toBe(
        "attempt 0 ended preempted (exit 6) and was requeued; the next attempt's record replaces this one when it starts",
      );
  });

  it('a final record without the requeued line is final whatever Slurm says', () => {
    expect(reconcile(status('srun', 'preempted'), { slurm: { state: 'PENDING' } }).state).toBe('preempted');
  });
});

describe('process identity', () => {
  it('this process is still running; a changed start time or a reaped pid is not', () => {
    const me = selfIdentity();
    expect(me.startTicks).toBeGreaterThan(0);
    expect(processStartTicks(process.pid)).toBe(me.startTicks);
    expect(stillRunning(me)).toBe(true);
    // the same pid with another start time is a reused pid: not our controller
    expect(stillRunning({ ...me, startTicks: me.startTicks! + 1 })).toBe(false);
    // another host cannot be checked from here
    expect(stillRunning({ ...me, host: `${me.host}-elsewhere` })).toBeUndefined();
    const child = spawnSync('sh', ['-c', 'echo $$']);
    const gone = Number(String(child.stdout).trim());
    expect(stillRunning({ pid: gone })).toBe(false);
    expect(stillRunning({})).toBeUndefined();
  });
});
