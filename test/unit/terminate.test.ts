// src/proc/terminate.ts on real processes: every escalation step signals a real child or group and
// waits on its exit; readiness is a line the child prints once its handlers are installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers, signalGroup } from '../../src/proc/group.js';
import { terminate, terminateGroup, terminatePgid, termThenKill } from '../../src/proc/terminate.js';

const started: Array<{ child: ChildProcess; detached: boolean }> = [];

/** Spawns `sh -c script` and resolves once it printed "ready" (its traps are in place by then). */
async function start(script: string, detached = true): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', script], { detached, stdio: ['ignore', 'pipe', 'inherit'] });
  started.push({ child, detached });
  child.stdout?.setEncoding('utf8');
  let out = '';
  while (!out.includes('ready\n')) {
    const [chunk] = (await once(child.stdout!, 'data')) as [string];
    out += chunk;
  }
  return child;
}

afterEach(() => {
  // a failed assertion must not leave sleepers behind
  for (const { child, detached } of started.splice(0)) {
    if (detached && child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  }
});

const IGNORES_TERM = 'trap "" TERM; sleep 30 & sleep 30 & echo ready; wait';
const DIES_ON_TERM = 'sleep 30 & sleep 30 & echo ready; wait';

describe('terminate: a group', () => {
  it('KILLs a group that ignores TERM once the grace has passed, and nothing of it is left', async () => {
    const child = await start(IGNORES_TERM);
    const t0 = Date.now();
    const report = await terminate({ group: child }, termThenKill(300));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(report.steps).toEqual([
      { signal: 'SIGTERM', to: 'group', members: 3, outcome: 'timeout' },
      { signal: 'SIGKILL', to: 'group', members: 3, outcome: 'gone' },
    ]);
    expect(report).toMatchObject({ gone: true, exit: { code: null, signal: 'SIGKILL' } });
    expect(groupMembers(child.pid!)).toEqual([]);
  });

  it('does not wait out the grace for a group that exits on TERM', async () => {
    const child = await start(DIES_ON_TERM);
    const t0 = Date.now();
    const info = await terminateGroup(child, 30_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(info).toEqual({ code: null, signal: 'SIGTERM' });
    expect(groupMembers(child.pid!)).toEqual([]);
  });

  it('takes no step at all when the group is already gone', async () => {
    const child = await start('echo ready');
    await once(child, 'exit');
    const report = await terminate({ group: child }, termThenKill(30_000));
    expect(report).toEqual({ steps: [], gone: true, exit: { code: 0, signal: null } });
  });

  it('waits for the addressee of a step: TERM to the leader alone waits for the leader, not its group', async () => {
    // the leader dies on TERM; its two sleepers ignore TERM and are not sent it anyway
    const child = await start('(trap "" TERM; sleep 30) & (trap "" TERM; sleep 30) & echo ready; wait');
    const t0 = Date.now();
    const report = await terminate({ group: child }, [
      { signal: 'SIGTERM', to: 'leader', waitMs: 20_000 },
      { signal: 'SIGKILL', to: 'group', waitMs: 20_000 },
    ]);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(report.steps).toEqual([
      { signal: 'SIGTERM', to: 'leader', outcome: 'gone' },
      { signal: 'SIGKILL', to: 'group', members: expect.any(Number), outcome: 'gone' },
    ]);
    expect(report.steps[1]!.members).toBeGreaterThanOrEqual(2);
    expect(groupMembers(child.pid!)).toEqual([]);
  });
});

describe('terminate: a group known only by its pgid', () => {
  it('KILLs it after the grace when it ignores TERM', async () => {
    const child = await start(IGNORES_TERM);
    const t0 = Date.now();
    const report = await terminatePgid(child.pid!, 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(report.steps.map((s) => [s.signal, s.outcome])).toEqual([
      ['SIGTERM', 'timeout'],
      ['SIGKILL', 'gone'],
    ]);
    expect(report.gone).toBe(true);
    expect(groupMembers(child.pid!)).toEqual([]);
  });

  it('stops after TERM when the group exits on it', async () => {
    const child = await start(DIES_ON_TERM);
    const report = await terminatePgid(child.pid!, 30_000);
    expect(report.steps).toEqual([{ signal: 'SIGTERM', to: 'group', members: 3, outcome: 'gone' }]);
  });
});

describe('terminate: one process that leads no group', () => {
  it('walks the escalation until the process exits (srun: TERM ignored, then SIGINT)', async () => {
    const child = await start('trap "" TERM; trap "exit 3" INT; echo ready; while :; do sleep 0.02; done', false);
    const report = await terminate({ process: child }, [
      { signal: 'SIGTERM', waitMs: 200 },
      { signal: 'SIGINT', waitMs: 20_000 },
      { signal: 'SIGKILL', waitMs: 1000 },
    ]);
    expect(report).toEqual({
      steps: [
        { signal: 'SIGTERM', to: 'leader', outcome: 'timeout' },
        { signal: 'SIGINT', to: 'leader', outcome: 'gone' },
      ],
      gone: true,
      exit: { code: 3, signal: null },
    });
  });

  it('refuses a group step: the process shares our own group', async () => {
    const child = await start('echo ready; exec sleep 30', false);
    await expect(terminate({ process: child }, [{ signal: 'SIGTERM', to: 'group', waitMs: 0 }])).rejects.toThrow(
      /leads no group/,
    );
  });
});
