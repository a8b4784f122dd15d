/**
 * Linux autogroups: the scheduler's group for one session (/proc/<pid>/autogroup, "/autogroup-N
 * nice K"). With autogroups on, CPU is shared between sessions first and a process's own nice value
 * only orders it within its session. A user may set a group's nice value to anything from 0 to 19,
 * down as well as up (kernel/sched/autogroup.c `proc_sched_autogroup_set_nice`: only a negative
 * value needs CAP_SYS_NICE; one change per 100 ms on the whole host).
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** The nice value of a process's autogroup; undefined without autogroups or when it cannot be read. */
function autogroupNice(pid: number | 'self'): number | undefined {
  try {
    const m = / nice (-?\d+)\s*$/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gives `pid`'s session this process's CPU share back (a Ray worker starts at a lowered one:
 * runtimes/ray/boot.ts), so that what is stopped there is not slow to die on a busy host. One try,
 * never a wait: false when there is nothing to do or the kernel said no (EAGAIN: another change on
 * this host within the last 100 ms).
 */
export function restoreCpuShare(pid: number): boolean {
  const mine = autogroupNice('self');
  const theirs = autogroupNice(pid);
  if (mine === undefined || theirs === undefined || theirs <= mine) return false;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(mine));
    return true;
  } catch {
    return false;
  }
}
