/**
 * The one way raysl writes a file another process may read at any moment (status.json, plan.json,
 * the port records, agent endings, the cancel request): the whole text goes to a temporary file
 * beside it, then rename() swaps it in, so a reader sees the old file or the new one, never half.
 * The mode is the job dir's (0600, or 0640 in a group's job dir: see modes.ts) unless given.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileModeFor } from './modes.js';

export function writeFileAtomic(path: string, text: string, mode = fileModeFor(path)): void {
  // per writer: two processes writing the same file never share a temporary file
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** `data` as indented JSON with a final newline, written whole. */
export function writeJsonAtomic(path: string, data: unknown, mode = fileModeFor(path)): void {
  writeFileAtomic(path, JSON.stringify(data, null, 2) + '\n', mode);
}
