/**
 * The controller's progress lines: `[+0.21s] node3 joined (4 CPU, 4 GPU) 3/4`, on stderr and in
 * controller.log. Plain timestamped text, no colour, no spinner (STYLE.md principle 7).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileModeFor } from '../jobdir/modes.js';

export interface ProgressLog {
  (line: string): void;
  /** Flushes and closes the log file. */
  close(): Promise<void>;
  /** Starts mirroring to a file (the job dir exists only after the log is needed). */
  attachFile(path: string): void;
}

export function progressLog(
  stderr: NodeJS.WritableStream,
  now: () => number,
  startMs: number,
  quiet = false,
): ProgressLog {
  let file: WriteStream | undefined;
  const pending: string[] = [];
  const log = ((line: string) => {
    const text = `[+${((now() - startMs) / 1000).toFixed(2)}s] ${line}\n`;
    if (!quiet) stderr.write(text);
    if (file) file.write(text);
    else pending.push(text);
  }) as ProgressLog;
  log.attachFile = (path: string) => {
    file = createWriteStream(path, { flags: 'a', mode: fileModeFor(path) });
    for (const p of pending.splice(0)) file.write(p);
  };
  log.close = () =>
    new Promise<void>((resolve) => {
      if (!file) return resolve();
      file.end(() => resolve());
    });
  return log;
}
