/** status.json writer: every write is tmp + rename, so a reader never sees half a file. */
import { renameSync, writeFileSync } from 'node:fs';
import type { JobStatus } from '../core/status.js';

export function writeJsonAtomic(path: string, data: unknown, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode });
  renameSync(tmp, path);
}

/**
 * Holds the current status and rewrites the file on each update. Per-node news (a node connected,
 * joined) goes through updateSoon: at 256 nodes, one rewrite of the whole file per event was
 * O(N^2) bytes written synchronously on the controller's event loop while agents waited for it.
 */
export class StatusFile {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private current: JobStatus,
    /** How long per-node news may wait to reach the file (coalesced into one write). */
    private readonly batchMs = 50,
  ) {
    writeJsonAtomic(this.path, this.current);
  }
  get value(): JobStatus {
    return this.current;
  }
  /** Applies and writes now (also writes any batched news). */
  update(fn: (s: JobStatus) => JobStatus): void {
    this.current = fn(this.current);
    this.flush();
  }
  /** Applies now, writes within batchMs together with the other news of that window. */
  updateSoon(fn: (s: JobStatus) => JobStatus): void {
    this.current = fn(this.current);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.batchMs);
    // a controller on its way out writes its final state through update(), which flushes
    this.timer.unref();
  }
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    writeJsonAtomic(this.path, this.current);
  }
}
