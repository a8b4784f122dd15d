/**
 * Linux autogroups: the scheduler's group for one session (/proc/<pid>/autogroup, "/autogroup-N
 * nice K"). With autogroups on, CPU is shared between sessions first and a process's own nice value
 * only orders it within its session. A user may set a group's nice value to anything from 0 to 19,
 * down as well as up (kernel/sched/autogroup.c `proc_sched_autogroup_set_nice`: only a negative
 * value needs CAP_SYS_NICE; one change per 100 ms on the whole host).
 */
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The nice value of an autogroup from its /proc/<pid>/autogroup text. A process in init's session
 * (one that never called setsid, as a CI runner's may be) reads an empty file: it is in the root
 * group, whose weight is that of nice 0 (kernel/sched/autogroup.c `proc_sched_autogroup_show_task`
 * prints nothing for it). Undefined for anything else.
 */
export function parseAutogroupNice(text: string): number | undefined {
  if (text.trim() === '') return 0;
  const m = /^\/autogroup-\d+ nice (-?\d+)\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The nice value of a process's autogroup; undefined without autogroups or when it cannot be read. */
function autogroupNice(pid: number | 'self'): number | undefined {
  try {
    return parseAutogroupNice(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
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
