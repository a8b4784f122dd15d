/** status.json writer: every write is tmp + rename (write.ts), so a reader never sees half a file. */
import type { JobStatus } from '../core/status.js';
import { writeJsonAtomic } from './write.js';

/** How long per-node updates may wait to be written together (a burst of joins is one write). */
export const STATUS_BATCH_MS = 50;

/**
 * Holds the current status and rewrites the file: at once on update(); per-node events
 * (updateBatched) at once after a quiet spell, else together at most every STATUS_BATCH_MS. One
 * write per join made forming N nodes O(N^2) (each write holds every node): 4 s of 5 s CPU at 1,024.
 */
export class StatusFile {
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = -Infinity;

  constructor(
    private readonly path: string,
    private current: JobStatus,
    private readonly now: () => number = Date.now,
  ) {
    this.write();
  }
  get value(): JobStatus {
    return this.current;
  }
  update(fn: (s: JobStatus) => JobStatus): void {
    this.current = fn(this.current);
    this.write();
  }
  updateBatched(fn: (s: JobStatus) => JobStatus): void {
    this.current = fn(this.current);
    if (this.timer) return;
    const wait = this.lastWrite + STATUS_BATCH_MS - this.now();
    if (wait <= 0) return this.write();
    this.timer = setTimeout(() => this.write(), wait);
    this.timer.unref();
  }
  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastWrite = this.now();
    writeJsonAtomic(this.path, this.current);
  }
}
