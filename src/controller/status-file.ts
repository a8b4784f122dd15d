/** status.json writer: every write is tmp + rename, so a reader never sees half a file. */
import { renameSync, writeFileSync } from 'node:fs';
import type { JobStatus } from '../core/status.js';

export function writeJsonAtomic(path: string, data: unknown, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode });
  renameSync(tmp, path);
}

/** Holds the current status and rewrites the file on each update. */
export class StatusFile {
  constructor(
    private readonly path: string,
    private current: JobStatus,
  ) {
    writeJsonAtomic(this.path, this.current);
  }
  get value(): JobStatus {
    return this.current;
  }
  update(fn: (s: JobStatus) => JobStatus): void {
    this.current = fn(this.current);
    writeJsonAtomic(this.path, this.current);
  }
}
