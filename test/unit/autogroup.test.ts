import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreCpuShare } from '../../src/proc/autogroup.js';
import { until } from '../support/until.js';

const niceOf = (pid: number | 'self') =>
  Number(/ nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]);
const children: Array<{ kill: (s: NodeJS.Signals) => boolean }> = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A process in a session of its own (so an autogroup of its own), as raysl starts `ray start`. */
function ownSession() {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  children.push(child);
  return child.pid as number;
}

/** The kernel takes one autogroup change per 100 ms on the host (without CAP_SYS_ADMIN): retried. */
const setNice = (pid: number, n: number) =>
  until(
    `autogroup nice ${n} for ${pid}`,
    () => {
      try {
        writeFileSync(`/proc/${pid}/autogroup`, String(n));
        return true;
      } catch {
        return undefined;
      }
    },
    5000,
  );

describe('restoreCpuShare', () => {
  it("gives a session whose autogroup was lowered this process's share back", async () => {
    const pid = ownSession();
    await setNice(pid, 19);
    expect(niceOf(pid)).toBe(19);
    const mine = niceOf('self');
    expect(mine).toBeLessThan(19);
    expect(restoreCpuShare(pid)).toBe(true);
    expect(niceOf(pid)).toBe(mine);
  });

  it('leaves a session at our share or above it alone, and a process that is gone', async () => {
    const pid = ownSession();
    expect(niceOf(pid)).toBe(niceOf('self'));
    expect(restoreCpuShare(pid)).toBe(false);
    expect(restoreCpuShare(2 ** 22 + 1)).toBe(false);
  });
});
