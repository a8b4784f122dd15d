// followJob's decisions (src/cli/follow-step.ts) on sequences of observations: what is printed,
// when squeue is asked, how the wait backs off, and when following stops with which outcome.
import { describe, expect, it } from 'vitest';
import {
  currentRecord,
  endedOutcome,
  followStep,
  initialFollowState,
  slurmDue,
  type FollowConfig,
  type FollowEffect,
  type FollowObservation,
  type FollowState,
} from '../../src/cli/follow-step.js';
import type { JobState, JobStatus, PhaseEvent, PhaseName } from '../../src/core/status.js';
import type { SlurmJob } from '../../src/slurm/squeue.js';

const cfg: FollowConfig = { jobId: '42', stream: true, minMs: 50, maxMs: 1000, settleMs: 15_000 };

const ev = (phase: PhaseName, t: number, extra: Partial<PhaseEvent> = {}): PhaseEvent => ({
  phase,
  at: new Date(t).toISOString(),
  t,
  ...extra,
});
function record(state: JobState, timeline: PhaseEvent[], extra: Partial<JobStatus> = {}): JobStatus {
  return {
    version: 1 as JobStatus['version'],
    jobId: '42',
    runtime: 'builtin',
    launcher: 'srun',
    state,
    startedAt: '2026-12-05T00:00:00.000Z',
    updatedAt: '2026-12-05T00:00:01.000Z',
    head: 'node1',
    minNodes: 2,
    nodes: [{ name: 'node1' }, { name: 'node2' }] as JobStatus['nodes'],
    joined: ['node1', 'node2'],
    timeline,
    ...extra,
  };
}
const sq = (state: string, extra: Partial<SlurmJob> = {}): SlurmJob =>
  ({
    id: '42',
    name: 'x',
    user: 'u',
    state,
    partition: 'debug',
    nodelist: state === 'PENDING' ? '' : 'node[1-2]',
    reason: state === 'PENDING' ? 'Resources' : 'None',
    comment: '',
    ...extra,
  }) as SlurmJob;

/** Runs observations through followStep, collecting every effect and the last decision. */
function run(
  observations: Array<Omit<FollowObservation, 'cancelRequested'> & { cancelRequested?: boolean }>,
  start: FollowState = initialFollowState(cfg),
) {
  let state = start;
  const effects: FollowEffect[] = [];
  const decisions = [];
  for (const o of observations) {
    const step = followStep(state, { cancelRequested: false, ...o }, cfg);
    state = step.state;
    effects.push(...step.effects);
    decisions.push(step.decision);
  }
  return { state, effects, decisions };
}

describe('followStep', () => {
  it('pending (each line once), allocated, the timeline, the output, the end', () => {
    const launched = [ev('allocated', 10), ev('agents-launched', 20)];
    const running = [
      ...launched,
      ev('node-joined', 30, { node: 'node1' }),
      ev('node-joined', 40, { node: 'node2' }),
      ev('ready', 1500),
      ev('entrypoint-started', 1600),
    ];
    const ended = [
      ...running,
      ev('node-lost', 1700, { node: 'node2', detail: 'gone' }),
      ev('entrypoint-exited', 1800, { code: 0 }),
      ev('torn-down', 1900, { code: 0 }),
    ];
    const { effects, decisions } = run([
      { now: 0, record: undefined, squeue: { askedAt: 0, job: sq('PENDING'), position: { position: 2, of: 3 } } },
      { now: 100, record: undefined, squeue: { askedAt: 100, job: sq('PENDING'), position: { position: 2, of: 3 } } },
      { now: 200, record: undefined, squeue: { askedAt: 200, job: sq('RUNNING') } },
      { now: 300, record: record('forming', launched) },
      { now: 400, record: record('running', running) },
      { now: 500, record: record('succeeded', ended, { exitCode: 0 }) },
    ]);
    expect(effects).toEqual([
      { kind: 'update', line: 'pending (Resources), 2/3 in the queue of partition debug' },
      { kind: 'log', line: 'allocated node[1-2]' },
      { kind: 'update', line: 'starting the raysl controller' },
      // the timeline's own "allocated" is skipped: squeue said it already
      { kind: 'log', line: 'agents launched on 2 node(s)' },
      { kind: 'update', line: 'waiting for the agents to join' },
      { kind: 'log', line: 'node1 joined 1/2' },
      { kind: 'log', line: 'node2 joined 2/2' },
      { kind: 'log', line: 'cluster ready: 2/2 nodes in 1.50s' },
      { kind: 'succeed', line: 'running on 2 node(s); output follows' },
      { kind: 'start-tail' },
      // the output streams: later events are plain stderr lines, and the tail stops at the end
      { kind: 'stderr', line: 'node2 lost: gone' },
      { kind: 'stop-tail' },
    ]);
    expect(decisions.at(-1)).toEqual({
      kind: 'done',
      outcome: { done: true, code: 0, summary: 'job 42 succeeded (exit 0)' },
    });
  });

  it('with the output streamed events go to stderr; without (--json), they stay progress lines and no tail starts', () => {
    const { effects } = run([
      {
        now: 0,
        record: record('running', [ev('entrypoint-started', 1), ev('node-lost', 2, { node: 'node2' })]),
        squeue: { askedAt: 0, job: sq('RUNNING') },
      },
    ]);
    const noStream = followStep(
      initialFollowState(cfg),
      {
        now: 0,
        cancelRequested: false,
        record: record('running', [ev('entrypoint-started', 1), ev('node-lost', 2, { node: 'node2' })]),
        squeue: { askedAt: 0, job: sq('RUNNING') },
      },
      { ...cfg, stream: false },
    );
    expect(effects.map((e) => e.kind)).toEqual(['succeed', 'start-tail', 'stderr']);
    expect(noStream.effects).toEqual([
      { kind: 'succeed', line: 'running on 2 node(s); output follows' },
      { kind: 'log', line: 'node2 lost: no reason given' },
    ]);
  });

  it('waits back off while nothing changes (50, 100, ... up to 1000) and start again at 50 on news', () => {
    const quiet = record('forming', [ev('allocated', 1)]);
    const obs = (now: number, r: JobStatus) => ({
      now,
      record: r,
      ...(now === 0 ? { squeue: { askedAt: 0, job: sq('RUNNING') } } : {}),
    });
    const { decisions } = run([
      obs(0, quiet),
      ...[1, 2, 3, 4, 5, 6].map((i) => obs(i, quiet)),
      obs(7, record('forming', [ev('allocated', 1), ev('agents-launched', 2)])),
    ]);
    expect(decisions.map((d) => (d.kind === 'wait' ? d.ms : d.kind))).toEqual([50, 100, 200, 400, 800, 1000, 1000, 50]);
  });

  it('asks squeue first, while pending at the fast pace, and once status.json exists at most every maxMs', () => {
    const s0 = initialFollowState(cfg);
    expect(slurmDue(s0, undefined, 0, cfg)).toBe(true);
    const known: FollowState = {
      ...s0,
      slurmKnown: true,
      slurmAskedAt: 1000,
      slurm: { state: 'RUNNING', reason: 'None', nodelist: 'node1' },
    };
    const r = record('running', []);
    expect(slurmDue(known, undefined, 1001, cfg)).toBe(true); // no record, fast pace: every turn
    expect(slurmDue({ ...known, interval: 400 }, undefined, 1399, cfg)).toBe(false);
    expect(slurmDue({ ...known, interval: 400 }, undefined, 1400, cfg)).toBe(true);
    expect(slurmDue(known, r, 1999, cfg)).toBe(false);
    expect(slurmDue(known, r, 2000, cfg)).toBe(true);
  });

  it('Slurm ended the job before status.json says so: ask scontrol (slurm-ended), then the outcome says what Slurm said', () => {
    const { decisions, state } = run([
      { now: 0, record: record('running', []), squeue: { askedAt: 0, job: undefined } },
    ]);
    expect(decisions).toEqual([{ kind: 'slurm-ended' }]);
    const out = endedOutcome(
      '42',
      record('running', []),
      { state: 'TIMEOUT', reason: 'None', exitCode: '0:15' },
      state.slurm,
    );
    expect(out.code).toBe(3);
    expect(out.summary).toBe('job 42 ended TIMEOUT while the controller was running');
    expect(endedOutcome('42', undefined, undefined, undefined).summary).toBe(
      'job 42 ended unknown to Slurm (finished and purged, or never existed) before the raysl controller started',
    );
  });

  it("an unasked-for cancel waits (bounded) for Slurm's final state: NODE_FAIL makes it exit 5", () => {
    const cancelled = record('cancelled', [ev('signal', 1, { detail: 'SIGTERM' })], { exitCode: 143 });
    const running = { askedAt: 0, job: sq('RUNNING') };
    const waiting = run([
      { now: 0, record: cancelled, squeue: running },
      { now: 10_000, record: cancelled },
    ]);
    expect(waiting.decisions).toEqual([
      { kind: 'wait', ms: 1000 },
      { kind: 'wait', ms: 1000 },
    ]);
    const nodeFail = run(
      [{ now: 11_000, record: cancelled, squeue: { askedAt: 11_000, job: sq('NODE_FAIL') } }],
      waiting.state,
    );
    expect(nodeFail.decisions[0]).toMatchObject({ kind: 'done', outcome: { code: 5 } });
    // past the settle deadline the controller's record decides
    const late = run([{ now: 15_001, record: cancelled }], waiting.state);
    expect(late.decisions[0]).toMatchObject({ kind: 'done', outcome: { code: 143 } });
    // a cancel the user asked for does not wait
    expect(run([{ now: 0, record: cancelled, squeue: running, cancelRequested: true }]).decisions[0]).toMatchObject({
      kind: 'done',
      outcome: { code: 143 },
    });
  });

  it('--requeue: a requeued attempt is announced, its record then ignored, and the next attempt followed from its first event', () => {
    const first = record('preempted', [ev('allocated', 1), ev('requeued', 2, { detail: 'requeued by Slurm' })], {
      exitCode: 6,
      attempt: 0,
    });
    const second = record('forming', [ev('allocated', 1), ev('agents-launched', 2)], { attempt: 1 });
    const { effects, decisions, state } = run([
      { now: 0, record: first, squeue: { askedAt: 0, job: sq('RUNNING') } },
      { now: 100, record: first, squeue: { askedAt: 100, job: sq('PENDING') } },
      { now: 200, record: first, squeue: { askedAt: 200, job: sq('RUNNING') } },
      { now: 300, record: second },
    ]);
    expect(effects).toEqual([
      { kind: 'log', line: 'allocated node1,node2; head node1' },
      { kind: 'log', line: 'requeued by Slurm' },
      {
        kind: 'stderr',
        line: 'attempt 0 ended preempted (exit 6); requeued by Slurm: following attempt 1 once Slurm starts it',
      },
      { kind: 'update', line: 'waiting for Slurm to start attempt 1' },
      { kind: 'update', line: 'pending (Resources)' },
      { kind: 'log', line: 'allocated node[1-2]' },
      { kind: 'update', line: 'starting the raysl controller' },
      { kind: 'log', line: 'agents launched on 2 node(s)' },
      { kind: 'update', line: 'waiting for the agents to join' },
    ]);
    expect(decisions.map((d) => d.kind)).toEqual(['wait', 'wait', 'wait', 'wait']);
    expect(state.requeuedAfter).toBeUndefined();
    expect(currentRecord({ ...state, requeuedAfter: 1 }, second)).toBeUndefined();
    expect(currentRecord({ ...state, requeuedAfter: 0 }, second)).toBe(second);
  });
});
