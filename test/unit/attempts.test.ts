import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { archiveEarlierAttempt, restartCountOf } from '../../src/jobdir/attempts.js';
import { StopRequest, stopOnSignals } from '../../src/controller/stop.js';
import { TeardownStack } from '../../src/proc/teardown.js';
import { attemptLines } from '../../src/cli/status-view.js';
import { jobPaths } from '../../src/core/jobdir.js';
import { initialStatus, withPhase, withState, type JobStatus } from '../../src/core/status.js';
import { tempDir } from '../support/temp-dir.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function jobDir(): ReturnType<typeof jobPaths> {
  const root = tempDir('raysl-attempts-');
  dirs.push(root);
  return jobPaths(root, '35');
}

const preemptedStatus = (attempt: number): JobStatus => {
  const s = initialStatus({
    jobId: '35',
    runtime: 'builtin',
    launcher: 'srun',
    nodes: [{ name: 'node1', address: '10.0.0.1', role: 'head', log: '/x' }],
    minNodes: 1,
    startedAtMs: 0,
  });
  const warned = withPhase(s, 1000, { phase: 'preempt-warning', detail: 'SIGUSR2 from Slurm' });
  return { ...withState(warned, 'preempted'), exitCode: 6, attempt };
};

describe('attempts of a requeued job', () => {
  it.each([
    [{}, 0],
    [{ SLURM_RESTART_COUNT: '2' }, 2],
    [{ SLURM_RESTART_COUNT: 'x' }, 0],
  ])('restart count from %j is %d', (env, n) => expect(restartCountOf(env)).toBe(n));

  it('attempt 1 moves attempt 0 aside (logs, status) and keeps the plan; attempt 0 moves nothing', () => {
    const paths = jobDir();
    mkdirSync(paths.dir, { recursive: true });
    for (const f of [
      'controller.log',
      'entrypoint.log',
      'agent-node1.log',
      'tasks.log',
      'plan.json',
      'job.sh',
      'token',
    ])
      writeFileSync(join(paths.dir, f), f);
    writeFileSync(paths.status, JSON.stringify(preemptedStatus(0)));
    expect(archiveEarlierAttempt(paths, 0)).toEqual([]);
    expect(readdirSync(paths.dir)).toContain('status.json');

    const earlier = archiveEarlierAttempt(paths, 1);
    expect(earlier).toEqual([
      {
        attempt: 0,
        state: 'preempted',
        exitCode: 6,
        startedAt: '1970-01-01T00:00:00.000Z',
        endedAt: '1970-01-01T00:00:01.000Z',
        reason: 'SIGUSR2 from Slurm',
        dir: join(paths.dir, 'attempt-0'),
      },
    ]);
    expect(readdirSync(paths.dir).sort()).toEqual(['attempt-0', 'job.sh', 'plan.json', 'token']);
    expect(readdirSync(join(paths.dir, 'attempt-0')).sort()).toEqual([
      'agent-node1.log',
      'controller.log',
      'entrypoint.log',
      'status.json',
      'tasks.log',
    ]);
    expect(readFileSync(join(paths.dir, 'attempt-0', 'entrypoint.log'), 'utf8')).toBe('entrypoint.log');

    // attempt 2 carries attempt 0's summary forward
    writeFileSync(paths.status, JSON.stringify({ ...preemptedStatus(1), attempts: earlier }));
    expect(archiveEarlierAttempt(paths, 2).map((a) => a.attempt)).toEqual([0, 1]);
  });

  it('raysl status lists every attempt, the current one last', () => {
    const { exitCode: _running, ...current } = withState(preemptedStatus(1), 'running');
    const s: JobStatus = {
      ...current,
      attempts: [
        {
          attempt: 0,
          state: 'preempted',
          exitCode: 6,
          startedAt: 'a',
          endedAt: 'b',
          reason: 'SIGUSR2 from Slurm',
          dir: '/j/35/attempt-0',
        },
      ],
    };
    expect(attemptLines(s)).toEqual([
      'attempts: 2',
      '  #0  preempted           exit 6  SIGUSR2 from Slurm  /j/35/attempt-0',
      '  #1  running (this one)',
    ]);
    const { attempt: _none, ...once } = s;
    expect(attemptLines(once)).toEqual([]);
  });

  it('USR2 asks for a preempt stop; a TERM after it hurries teardown', async () => {
    const source = new EventEmitter();
    const stop = new StopRequest();
    const lines: string[] = [];
    const teardown = new TeardownStack({ log: (l) => lines.push(l), boundMs: 1000 });
    let hurried = false;
    teardown.push({ name: 'x', run: async () => {}, hurry: () => (hurried = true) });
    stopOnSignals(
      source,
      stop,
      teardown,
      (l) => lines.push(l),
      () => 42,
    );
    source.emit('SIGUSR2');
    expect(await stop.stopped).toEqual({ kind: 'preempt', atMs: 42 });
    expect(hurried).toBe(false);
    source.emit('SIGTERM');
    expect(hurried).toBe(true);
    expect(stop.reason).toEqual({ kind: 'preempt', atMs: 42 });
    await teardown.unwind();
    expect(source.listenerCount('SIGUSR2')).toBe(0);
  });
});
