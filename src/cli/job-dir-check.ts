/**
 * The job dir must be a directory this user can write, made now if missing: checked before
 * anything starts so a bad --job-dir is one clear error (exit 2), not an ENOTDIR/EACCES from deep
 * inside a command. One mkdir per missing component, never a retry loop: Node's recursive mkdir
 * spins forever on /proc/<name> (ENOENT from a parent that exists).
 */
import { mkdirSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../core/errors.js';

const HINT = 'pass --job-dir a directory you can write on a filesystem the nodes share (default ./raysl-jobs)';

function refuse(dir: string, why: string): UsageError {
  return new UsageError(`--job-dir ${dir}: ${why}`, { hint: HINT });
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'error';
}

function describe(code: string): string {
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only filesystem';
  if (code === 'ENOTDIR') return 'a parent is not a directory';
  if (code === 'ENOENT') return 'this filesystem does not allow creating it';
  return code;
}

/** Makes `dir` (absolute) and its missing parents, or throws a UsageError saying which part is wrong. */
export function ensureJobDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    let isDir: boolean;
    try {
      isDir = statSync(d).isDirectory();
    } catch (err) {
      const code = errnoOf(err);
      // ENOTDIR: a parent is a file; walking up names it
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw refuse(dir, `cannot look at ${d} (${describe(code)})`);
      if (dirname(d) === d) throw refuse(dir, `${d} does not exist`);
      missing.push(d);
      continue;
    }
    if (!isDir) throw refuse(dir, `${d} exists and is not a directory`);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      // private: job dirs below it are private anyway, and the batch scripts and logs sit in it
      mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'EEXIST' && statSync(d).isDirectory()) continue; // made by a concurrent submit
      throw refuse(dir, `cannot create ${d} (${describe(code)})`);
    }
  }
  // a real write, not access(2): root passes access() on /sys/kernel, where mkdir still fails
  let probe: string;
  try {
    probe = mkdtempSync(join(dir, '.raysl-probe-'));
  } catch (err) {
    throw refuse(dir, `cannot create files in it (${describe(errnoOf(err))})`);
  }
  rmdirSync(probe);
}

/** For commands that write nothing (render): refuse only what can never work, a path that is a file. */
export function assertNotAFile(dir: string): void {
  let isDir = true;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    return;
  }
  if (!isDir) throw refuse(dir, 'exists and is not a directory');
}
