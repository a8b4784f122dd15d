// Slurm's warning (USR2) under `run --local`: the same controller, signalled directly. What the
// Slurm tier cannot show cheaply: the user's --preempt-signal, the grace waited out in full, the
// KILL after it.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allGone, agentPids, ensureBuilt, exitWithin, fixtures, runLocal, statusWhere } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('USR2 under run --local', () => {
  it('--preempt-signal INT reaches the entrypoint; one that stays is KILLed after its grace; exit 6; nothing left', async () => {
    // --preempt-grace 12: the entrypoint gets 12 - 3 (teardown reserve) = 9 s after INT, then TERM (ignored), then KILL
    const job = runLocal([
      '-N',
      '2',
      '--preempt-grace',
      '12',
      '--preempt-signal',
      'INT',
      join(fixtures, 'stubborn.sh'),
    ]);
    const [, shPid, sleepPid] = await job.waitFor(/ready (\d+) (\d+)/);
    const running = await statusWhere(job, (x) => x.state === 'running');
    job.child.kill('SIGUSR2');
    await job.waitFor(/got INT at restart count 0/);
    // the deadline only guards against a hang: the entrypoint never ends by itself
    const { code } = await exitWithin(job, 60_000);
    expect(code).toBe(6);
    expect(job.stderr()).toMatch(
      /stopped at Slurm's warning \(time limit near, or preemption\); the entrypoint exited with code 137\n {2}hint: resubmit/,
    );
    const s = job.status();
    expect(s).toMatchObject({ state: 'preempted', exitCode: 6 });
    const warned = s.timeline.find((e) => e.phase === 'preempt-warning')!;
    const exited = s.timeline.find((e) => e.phase === 'entrypoint-exited')!;
    expect(warned.detail).toBe(
      "SIGUSR2 from Slurm (time limit near, or preemption): SIGINT to the entrypoint's process group, up to 9 s to exit",
    );
    expect(exited.code).toBe(137);
    // the grace was waited out (a lower bound only: how much longer is the machine's business)
    expect(exited.t - warned.t).toBeGreaterThanOrEqual(9000);
    expect(await allGone([...agentPids(running), Number(shPid), Number(sleepPid)])).toEqual([]);
  });
});
