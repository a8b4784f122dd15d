/**
 * Keeping a runtime's own logs when its temp dir goes: Ray writes gcs_server, raylet, dashboard and
 * worker logs into <temp-dir>/session_*\/logs on node-local disk, which raysl removes at teardown.
 * Before that, the logs are copied into the job dir (a shared filesystem), bounded: each file keeps
 * at most its last `perFileBytes` (the end of a log says why a process died), and the copy stops at
 * `totalBytes` per node, newest files first (last modified: the daemons' own logs are written until
 * teardown, and the worker that failed last is what one looks for; old idle workers' logs go first).
 * What was cut, and the limits, are written to TRUNCATED.txt beside the copies.
 */
import { closeSync, mkdirSync, openSync, readSync, readdirSync, statSync, writeFileSync, type Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import { fileModeFor, fileModeIn } from '../jobdir/modes.js';

const KEEP_PER_FILE_BYTES = 8 * 1024 * 1024;
const KEEP_TOTAL_BYTES = 64 * 1024 * 1024;
/** The note beside the copies when a bound was hit. */
const TRUNCATED_NOTE = 'TRUNCATED.txt';

export interface KeptLogs {
  files: number;
  bytes: number;
  /** Files shortened to their tail or left out because the total was reached. */
  cut: string[];
}

export interface LogFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Every regular file under `dir` (no symlinks, sockets or fifos), with size and last write; none if `dir` is missing. */
export function regularFiles(dir: string): LogFile[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return regularFiles(p);
    if (!e.isFile()) return []; // sockets, fifos
    try {
      const st = statSync(p);
      return [{ path: p, size: st.size, mtimeMs: st.mtimeMs }];
    } catch {
      return [];
    }
  });
}

function tail(path: string, size: number, bytes: number): Buffer {
  const n = Math.min(size, bytes);
  const buf = Buffer.alloc(n);
  const fd = openSync(path, 'r');
  try {
    const read = readSync(fd, buf, 0, n, size - n);
    return buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Copies the logs under `srcDirs` into `dest` (relative paths kept), within the bounds. */
export function keepLogs(
  srcRoot: string,
  srcDirs: string[],
  dest: string,
  bounds = { perFileBytes: KEEP_PER_FILE_BYTES, totalBytes: KEEP_TOTAL_BYTES },
): KeptLogs {
  const files = srcDirs.flatMap(regularFiles).sort((a, b) => b.mtimeMs - a.mtimeMs || a.path.localeCompare(b.path));
  const kept: KeptLogs = { files: 0, bytes: 0, cut: [] };
  for (const f of files) {
    const rel = relative(srcRoot, f.path);
    const room = Math.min(bounds.perFileBytes, bounds.totalBytes - kept.bytes);
    if (room <= 0) {
      kept.cut.push(`${rel}: left out (${f.size} bytes; the ${bounds.totalBytes}-byte total was reached)`);
      continue;
    }
    let data: Buffer;
    try {
      data = tail(f.path, f.size, room);
    } catch {
      continue; // removed meanwhile, or unreadable
    }
    if (data.length < f.size) kept.cut.push(`${rel}: last ${data.length} of ${f.size} bytes kept`);
    const to = join(dest, rel);
    mkdirSync(join(to, '..'), { recursive: true, mode: 0o750 });
    writeFileSync(to, data, { mode: fileModeFor(to) });
    kept.files++;
    kept.bytes += data.length;
  }
  if (kept.cut.length > 0) {
    mkdirSync(dest, { recursive: true, mode: 0o750 });
    const limits = `raysl keeps each file's last ${bounds.perFileBytes} bytes and at most ${bounds.totalBytes} bytes per node, newest files first; cut here:`;
    writeFileSync(join(dest, TRUNCATED_NOTE), [limits, ...kept.cut].join('\n') + '\n', { mode: fileModeIn(dest) });
  }
  return kept;
}
