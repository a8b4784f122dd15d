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
 * The window also grows with the cost of a write (20x its last duration), so batched writes take at
 * most about 5% of the event loop however large the file gets.
 */
export class StatusFile {
  private timer: NodeJS.Timeout | undefined;
  private lastWriteMs = 0;

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
  /** Applies now; written at the end of the window (batchMs, or 20x the last write) with the rest of its news. */
  updateSoon(fn: (s: JobStatus) => JobStatus): void {
    this.current = fn(this.current);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), Math.max(this.batchMs, 20 * this.lastWriteMs));
    // a controller on its way out writes its final state through update(), which flushes
    this.timer.unref();
  }
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const t0 = performance.now();
    writeJsonAtomic(this.path, this.current);
    this.lastWriteMs = performance.now() - t0;
  }
}
