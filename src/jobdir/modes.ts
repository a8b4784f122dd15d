/**
 * Creating a job's directories and files with the modes of core/jobdir.ts (private unless the root
 * is a set-group-ID directory). Every writer into a job dir takes its mode from here: the job dir
 * itself is the guard (0700), and the files are private too, so a copy moved elsewhere stays so.
 */
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileModeForDir, modesForRoot, PRIVATE_MODES } from '../core/jobdir.js';

function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode;
  } catch {
    return undefined;
  }
}

/**
 * Makes a job's directory (or a directory inside one) with the modes its root asks for. mkdir's
 * mode passes through the umask, so the mode is set again explicitly; an existing directory (a
 * requeued attempt, submit's copy of the script) is brought to the same mode.
 */
export function makeJobDir(dir: string): void {
  const parentMode = modeOf(dirname(dir));
  mkdirSync(dir, { recursive: true, mode: PRIVATE_MODES.dir });
  const { dir: mode } = parentMode === undefined ? PRIVATE_MODES : modesForRoot(parentMode);
  chmodSync(dir, mode);
}

/** The mode for a new file in `dir`: 0600, or 0640 in a group's job dir. */
export function fileModeIn(dir: string): number {
  const mode = modeOf(dir);
  return mode === undefined ? PRIVATE_MODES.file : fileModeForDir(mode);
}

/** The mode for a new file at `path` (by its directory). */
export function fileModeFor(path: string): number {
  return fileModeIn(dirname(path));
}

/**
 * Creates (or keeps) an empty file with its job-dir mode, for a writer that creates files with the
 * umask: srun's --output keeps the mode of a file that exists.
 */
export function precreateJobFile(path: string): void {
  const fd = openSync(path, 'a', fileModeFor(path));
  try {
    fchmodSync(fd, fileModeFor(path));
  } finally {
    closeSync(fd);
  }
}
