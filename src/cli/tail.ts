/**
 * `tail -f` for job files on a shared filesystem. fs.watch wakes us at once where the kernel can
 * tell (local disks); on NFS it may never fire, so a poll with backoff (fast after new data, slower
 * when idle, capped) always runs too. The file may not exist yet and may be replaced: we read by
 * offset from a fresh open each time, and start over if it shrinks.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { pollUntil } from '../proc/poll.js';

export interface TailOptions {
  /** First and longest poll interval in ms (defaults 50 and 500). */
  pollMinMs?: number;
  pollMaxMs?: number;
}

export interface Tail {
  /** Reads whatever is in the file now, then stops watching. */
  stop(): Promise<void>;
}

/** Reads from `offset` to the end of the file; returns the new offset (0 again if it shrank). */
export async function readFrom(path: string, offset: number, onChunk: (b: Buffer) => void): Promise<number> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return offset;
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size < offset) offset = 0; // truncated or replaced
    const buf = Buffer.alloc(64 * 1024);
    while (offset < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - offset), offset);
      if (bytesRead === 0) break;
      onChunk(Buffer.from(buf.subarray(0, bytesRead)));
      offset += bytesRead;
    }
    return offset;
  } finally {
    await fh.close();
  }
}

export function tailFile(path: string, onChunk: (b: Buffer) => void, opts: TailOptions = {}): Tail {
  const min = opts.pollMinMs ?? 50;
  const max = opts.pollMaxMs ?? 500;
  let offset = 0;
  let interval = min;
  let reading: Promise<void> = Promise.resolve();
  let again = false;
  const stopping = new AbortController();

  const read = (): Promise<void> => {
    // one read at a time; a wake-up during a read schedules exactly one more
    if (again) return reading;
    again = true;
    reading = reading.then(async () => {
      again = false;
      const before = offset;
      offset = await readFrom(path, offset, onChunk);
      interval = offset !== before ? min : Math.min(interval * 2, max);
    });
    return reading;
  };
  let watcher: FSWatcher | undefined;
  try {
    // watch the directory: the file may not exist yet, and renames replace it
    watcher = watch(dirname(path), (_event, name) => {
      if (!stopping.signal.aborted && (name === null || name.toString() === basename(path))) void read();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    // no inotify here (or the directory is missing): the poll alone does the job
  }
  // the poll runs until stop(); its pace is the read's: fast after new data, backing off when idle
  const polling = pollUntil(
    async () => {
      await read();
      return undefined;
    },
    { timeoutMs: Infinity, intervalMs: min, nextIntervalMs: () => interval, signal: stopping.signal },
  );
  return {
    stop: async () => {
      stopping.abort();
      watcher?.close();
      await polling;
      await read();
    },
  };
}
