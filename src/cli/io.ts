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
