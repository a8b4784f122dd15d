/**
 * Ray's per-node temp dir (pure). Ray puts unix sockets under it, and sockaddr_un.sun_path holds
 * 108 bytes including the NUL: Ray itself refuses paths over 107 bytes ("AF_UNIX path length cannot
 * exceed 107 bytes", node.py). The longest socket Ray 2.60 builds is the dashboard head's
 *   <temp-dir>/session_<YYYY-MM-DD_HH-MM-SS_ffffff>_<pid>/sockets/dash_TaskEventsHead
 * (one `dash_<module>` socket per dashboard subprocess module, dashboard/subprocesses/utils.py;
 * TaskEventsHead is the longest module name; raylet's `plasma_store[.N]` and `raylet` are shorter;
 * session name from node.py: strftime("%Y-%m-%d_%H-%M-%S_%f") + pid). We reserve the worst case and
 * refuse early, instead of letting a daemon die later on a node nobody is watching.
 */
import { UsageError } from '../../core/errors.js';

/** sun_path is 108 bytes; one is the terminating NUL. */
export const SUN_PATH_MAX = 107;
/** Linux pid_max can be 4194304: seven digits. */
const PID_DIGITS = 7;
const SESSION = `session_${'2025-01-17_17-06-14_562693'}_${'9'.repeat(PID_DIGITS)}`;
/** The dashboard head's socket for its TaskEventsHead module: the longest socket name in Ray 2.60. */
const LONGEST_SOCKET = 'sockets/dash_TaskEventsHead';

/** The longest unix-socket path Ray can build under this temp dir (worst-case session name). */
export function longestRaySocketPath(tempDir: string): string {
  return `${tempDir.replace(/\/+$/, '')}/${SESSION}/${LONGEST_SOCKET}`;
}

function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** Longest temp dir that still fits: 107 - the bytes Ray appends. */
export const MAX_RAY_TEMP_DIR = SUN_PATH_MAX - byteLength(longestRaySocketPath(''));

export function fitsSocketLimit(tempDir: string): boolean {
  return byteLength(longestRaySocketPath(tempDir)) <= SUN_PATH_MAX;
}

export interface TempDirInput {
  jobId: string;
  nodeName: string;
  /** Per-job, per-node scratch dir on node-local disk (preferred when short enough). */
  scratchDir: string;
  /** Root for the short fallback, normally "/tmp". */
  tmpRoot?: string;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable name, not a secret. */
function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Picks the temp dir: <scratchDir>/ray when it fits, else <tmpRoot>/raysl-<job>-<node>, else
 * <tmpRoot>/raysl-<hash of job and node> (long job ids such as `run --local`'s, or long node
 * names); refuses only when even that does not fit. Never /tmp/ray, which every Ray job on the
 * node shares by default.
 */
export function chooseRayTempDir(input: TempDirInput): string {
  const tmpRoot = (input.tmpRoot ?? '/tmp').replace(/\/+$/, '');
  const candidates = [
    `${input.scratchDir.replace(/\/+$/, '')}/ray`,
    `${tmpRoot}/raysl-${input.jobId}-${input.nodeName}`,
    `${tmpRoot}/raysl-${shortHash(`${input.jobId}/${input.nodeName}`)}`,
  ];
  const fit = candidates.find(fitsSocketLimit);
  if (fit !== undefined) return fit;
  const first = candidates[0] ?? '';
  throw new UsageError(
    `Ray's temp dir is too long for unix sockets: expected at most ${MAX_RAY_TEMP_DIR} bytes so that ` +
      `"${longestRaySocketPath('<temp-dir>').replace('<temp-dir>/', '')}" stays within ${SUN_PATH_MAX} bytes, ` +
      `received ${byteLength(first)} bytes (${first})`,
    {
      hint: 'use a shorter scratch directory on node-local disk (e.g. /tmp) or a shorter job name',
      details: { candidates, maxBytes: MAX_RAY_TEMP_DIR },
    },
  );
}
