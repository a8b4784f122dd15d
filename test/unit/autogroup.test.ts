import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAutogroupNice, restoreCpuShare } from '../../src/proc/autogroup.js';
import { until } from '../support/until.js';

/**
 * The kernel's own reads, recorded on this machine kind (Linux 6.18, autogroups on): a process in a
 * session of its own, and init (pid 1: the root group, whose file is empty). A CI runner that never
 * calls setsid runs the suite in init's session, so the test's own share is the root group's.
 */
const OWN_SESSION = '/autogroup-28712 nice 0\n';
const INIT_SESSION = '';

const readNice = (pid: number | 'self') => {
  const text = readFileSync(`/proc/${pid}/autogroup`, 'utf8');
  // the root group weighs what nice 0 weighs
  return text === '' ? 0 : Number(/^\/autogroup-\d+ nice (-?\d+)\n$/.exec(text)?.[1]);
};
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

describe('parseAutogroupNice', () => {
  it("reads a session's group, the root group (empty) as nice 0, and nothing else", () => {
    expect(parseAutogroupNice(OWN_SESSION)).toBe(0);
    expect(parseAutogroupNice('/autogroup-7 nice 19\n')).toBe(19);
    expect(parseAutogroupNice(INIT_SESSION)).toBe(0);
    expect(parseAutogroupNice('nice\n')).toBeUndefined();
    expect(parseAutogroupNice('/autogroup-7 nice x\n')).toBeUndefined();
  });
});

/** Without autogroups in the kernel (no /proc/<pid>/autogroup) there is no share to give back. */
const autogroups = existsSync('/proc/self/autogroup');

describe('restoreCpuShare', () => {
  it("gives a session whose autogroup was lowered this process's share back", async () => {
    const pid = ownSession();
    if (!autogroups) {
      expect(restoreCpuShare(pid)).toBe(false);
      return;
    }
    const mine = readNice('self');
    expect(mine).toBeLessThan(19);
    await setNice(pid, 19);
    expect(readNice(pid)).toBe(19);
    expect(restoreCpuShare(pid)).toBe(true);
    expect(readNice(pid)).toBe(mine);
  });

  it('leaves a session at our share alone, and a process that is gone', async () => {
    expect(restoreCpuShare(2 ** 22 + 1)).toBe(false);
    if (!autogroups) return;
    const pid = ownSession();
    await setNice(pid, readNice('self'));
    expect(restoreCpuShare(pid)).toBe(false);
    expect(readNice(pid)).toBe(readNice('self'));
  });
});
