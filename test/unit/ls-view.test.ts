// raysl ls as data (src/cli/ls-view.ts): which jobs get a row, in what order, with what state,
// from collected facts (squeue's jobs, the job dirs).
import { describe, expect, it } from 'vitest';
import { lsRows, noJobsLine, type JobDirFacts, type LsFacts } from '../../src/cli/ls-view.js';
import type { JobState, JobStatus } from '../../src/core/status.js';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const status = (id: string, state: JobState, startedAt: string, extra: Partial<JobStatus> = {}): JobStatus =>
  ({
    version: 1,
    jobId: id,
    runtime: 'builtin',
    launcher: id.startsWith('local-') ? 'local' : 'srun',
    state,
    startedAt,
    updatedAt: startedAt,
    head: 'node1',
    minNodes: 2,
    nodes: [
      { name: 'node1', state: 'joined' },
      { name: 'node2', state: 'joined' },
    ],
    joined: ['node1', 'node2'],
    timeline: [],
    portBlock: { base: 20480, size: 64 },
    ...extra,
  }) as JobStatus;
const queued = (id: string, state: string, extra: Partial<NonNullable<LsFacts['queue']>[number]> = {}) => ({
  id,
  name: `job${id}`,
  state,
  reason: state === 'PENDING' ? 'Priority' : 'None',
  nodelist: state === 'PENDING' ? '' : 'node[1-2]',
  comment: 'raysl:ports=21000-21063',
  submitTime: '2026-12-05T11:55:00',
  ...extra,
});
const facts = (f: Partial<LsFacts>): LsFacts => ({ now: NOW, all: false, queue: [], dirs: [], ...f });

describe('lsRows', () => {
  it("squeue's raysl jobs: the port record or a job dir makes a job raysl's; the dir's status.json speaks for a running one", () => {
    const dirs: JobDirFacts[] = [{ id: '12', status: status('12', 'forming', '2026-12-05T11:58:00Z') }];
    const rows = lsRows(
      facts({
        queue: [
          queued('11', 'PENDING', { submitTime: 'not a date' }),
          queued('12', 'RUNNING', { comment: '', submitTime: '2026-12-05T11:58:00Z' }),
          queued('13', 'RUNNING', { comment: 'someone else' }),
        ],
        dirs,
      }),
    );
    expect(rows).toEqual([
      {
        id: '12',
        name: 'job12',
        state: 'forming',
        nodes: 'node[1-2]',
        ports: '-',
        age: 120,
        since: '2026-12-05T11:58:00.000Z',
      },
      { id: '11', name: 'job11', state: 'pending', nodes: '(Priority)', ports: '21000-21063', age: null, since: null },
    ]);
  });

  it.each([
    [
      'a live local job shows; without --all a finished one does not',
      false,
      'running',
      { controllerAlive: true },
      ['running'],
    ],
    [
      'a local job whose controller is gone reads lost, and shows only with --all',
      false,
      'running',
      { controllerAlive: false },
      [],
    ],
    ['... with --all', true, 'running', { controllerAlive: false }, ['lost']],
    ['a finished local job with --all', true, 'succeeded', {}, ['succeeded']],
  ] as const)('%s', (_, all, state, controller, want) => {
    const dirs: JobDirFacts[] = [
      { id: 'local-1-2', status: status('local-1-2', state, '2026-12-05T11:00:00Z'), name: 'raysl-x', controller },
    ];
    expect(lsRows(facts({ all, dirs })).map((r) => r.state)).toEqual(want);
  });

  it('a Slurm job dir squeue no longer lists: only with --all, as lost; when Slurm is not reachable, shown as recorded', () => {
    const dirs: JobDirFacts[] = [
      { id: '9', status: status('9', 'running', '2026-12-05T10:00:00Z'), name: 'raysl-old' },
    ];
    expect(lsRows(facts({ dirs }))).toEqual([]);
    const [row] = lsRows(facts({ all: true, dirs }));
    expect(row).toMatchObject({
      id: '9',
      name: 'raysl-old',
      state: 'lost',
      nodes: 'node[1-2]',
      ports: '20480-20543',
      age: 7200,
    });
    expect(row!.reason).toBeDefined();
    expect(lsRows(facts({ queue: undefined, dirs })).map((r) => [r.id, r.state])).toEqual([['9', 'running']]);
  });

  it('a dir without status.json: unknown, only with --all; rows newest first, ties by id', () => {
    const dirs: JobDirFacts[] = [
      { id: 'local-5-1', status: undefined, name: '-' },
      {
        id: 'local-1-1',
        status: status('local-1-1', 'running', '2026-12-05T11:00:00Z'),
        name: 'a',
        controller: { controllerAlive: true },
      },
      {
        id: 'local-2-1',
        status: status('local-2-1', 'running', '2026-12-05T11:30:00Z'),
        name: 'b',
        controller: { controllerAlive: true },
      },
    ];
    expect(lsRows(facts({ dirs })).map((r) => r.id)).toEqual(['local-2-1', 'local-1-1']);
    const all = lsRows(facts({ all: true, dirs }));
    expect(all.map((r) => [r.id, r.state, r.nodes, r.age])).toEqual([
      ['local-2-1', 'running', 'node[1-2]', 1800],
      ['local-1-1', 'running', 'node[1-2]', 3600],
      ['local-5-1', 'unknown', '-', null],
    ]);
  });

  it.each([
    [false, true, 'no raysl jobs running (--all adds finished ones from the job dir)'],
    [true, true, 'no raysl jobs (looked in squeue and /jobs)'],
    [true, false, 'no raysl jobs (looked in /jobs)'],
  ])('noJobsLine(all=%s, askedSlurm=%s)', (all, asked, line) => {
    expect(noJobsLine(all, asked, '/jobs')).toBe(line);
  });
});
