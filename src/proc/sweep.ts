/**
 * Sweeping a runtime's processes by a marker in their environment. A process group is not enough
 * for Ray: its worker processes (`ray::IDLE`, actors) move to process groups of their own, and a
 * user's task may setsid or double-fork. Every process the runtime starts inherits the marker
 * variable, so the marked set is exactly this runtime's, never another job's (no name matching).
 * One more way in: a process that rewrites its title (setproctitle, as Ray's `ray::DashboardAgent`
 * and `ray::RuntimeEnvAgent` do) can overwrite its environment block in /proc too; Ray starts
 * its daemons in its temp dir, so a working directory inside one of the job's own dirs counts.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { GONE_PACE, send } from './group.js';
import { exitedState, readProcStat } from './identity.js';
import { waitFor } from './poll.js';

function cwdUnder(pid: string, dirs: readonly string[], procRoot: string): boolean {
  if (dirs.length === 0) return false;
  try {
    const cwd = readlinkSync(`${procRoot}/${pid}/cwd`);
    return dirs.some((d) => cwd === d || cwd.startsWith(d.endsWith('/') ? d : `${d}/`));
  } catch {
    return false;
  }
}

/**
 * Live pids whose environment holds `name=value` exactly, or whose working directory is inside one
 * of `dirs` (zombies and this process excluded).
 */
export function markedProcesses(
  name: string,
  value: string,
  dirs: readonly string[] = [],
  procRoot = '/proc',
  skip: (pid: number) => boolean = () => false,
): number[] {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  const first = Buffer.from(`${name}=${value}\0`);
  const out: number[] = [];
  for (const d of readdirSync(procRoot)) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid || skip(Number(d))) continue;
    try {
      const env = readFileSync(`${procRoot}/${d}/environ`);
      if (!(env.subarray(0, first.length).equals(first) || env.includes(needle) || cwdUnder(d, dirs, procRoot)))
        continue;
      const stat = readProcStat(Number(d), procRoot);
      if (stat !== undefined && !exitedState(stat.state)) out.push(Number(d));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** KILLs every marked process and waits (bounded) until none is left; returns how many it KILLed. */
export async function killMarked(
  name: string,
  value: string,
  boundMs: number,
  dirs: readonly string[] = [],
  skip?: (pid: number) => boolean,
): Promise<number> {
  // every pass KILLs what it finds: a process the first pass missed (one in the middle of an exec,
  // whose environ reads empty for that moment, or one forked meanwhile) is KILLed on the next
  const killed = new Set<number>();
  const sweep = (): boolean => {
    const found = markedProcesses(name, value, dirs, '/proc', skip);
    for (const pid of found) {
      if (killed.has(pid)) continue;
      killed.add(pid);
      send(pid, 'SIGKILL');
    }
    return found.length === 0;
  };
  if (!sweep()) await waitFor(sweep, { timeoutMs: boundMs, ...GONE_PACE });
  return killed.size;
}
