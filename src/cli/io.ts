/**
 * The CLI's edges, injected so commands can be tested in-process: streams, environment, clock.
 * stdout is for results, stderr for progress and errors (STYLE.md, principle 7).
 */
import chalk, { Chalk, type ChalkInstance } from 'chalk';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  now: () => number;
  /** What `raysl exec` forwards to its command (absent in tests that give it none). */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: Date.now,
    // a getter: opening fd 0 as a stream is for the one command that reads it
    get stdin() {
      return process.stdin;
    },
  };
}

export interface GlobalOptions {
  json?: boolean;
  color?: boolean; // commander sets false for --no-color
  debug?: boolean;
}

/** Colour only for people: off with NO_COLOR (chalk 5 does not check it), --no-color, --json, or no TTY. */
export function colorEnabled(opts: GlobalOptions, io: Io, stream: 'stdout' | 'stderr' = 'stderr'): boolean {
  if (opts.json || opts.color === false) return false;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  return Boolean(io[stream].isTTY);
}

export function painter(opts: GlobalOptions, io: Io, stream: 'stdout' | 'stderr' = 'stderr'): ChalkInstance {
  return colorEnabled(opts, io, stream) ? chalk : new Chalk({ level: 0 });
}

export function writeJson(io: Io, data: unknown): void {
  io.stdout.write(JSON.stringify(data, null, 2) + '\n');
}

export function writeLine(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(line + '\n');
}

/** The plan's warnings, one `raysl: warning:` line each on stderr (render, submit and run say the same). */
export function writeWarnings(opts: GlobalOptions, io: Io, warnings: readonly string[]): void {
  const c = painter(opts, io);
  for (const w of warnings) io.stderr.write(`${c.yellow('raysl: warning:')} ${w}\n`);
}

/**
 * A reader that closed its end early (`raysl ... | head -1`) makes the next write fail with EPIPE,
 * an 'error' event that would kill the process, and with it a running job's controller. Whoever
 * reads our output is not the job: writing to that stream stops (a destroyed stream drops later
 * writes without another event) and everything else goes on. There is nobody to tell about an
 * output error on the output itself, so any error of these streams ends only the stream.
 */
export function keepRunningPastClosedReaders(streams: readonly NodeJS.WritableStream[]): void {
  for (const s of streams) s.on('error', () => {});
}

/** Resolves once the stream has handed every byte written so far to the OS (or has failed or closed). */
export function untilFlushed(stream: NodeJS.WritableStream): Promise<void> {
  const s = stream as NodeJS.WritableStream & { destroyed?: boolean; writableLength?: number };
  if (s.destroyed || s.writableLength === 0) return Promise.resolve();
  // an empty write completes after every earlier write: its callback is the moment the buffer is empty
  return new Promise((resolve) => s.write('', () => resolve()));
}
