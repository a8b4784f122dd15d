/**
 * The in-memory Io every in-process CLI test drives runCli with: stdout and stderr collected as
 * text, a fixed environment and working directory, a clock that stands still unless given one.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Io } from '../../src/cli/io.js';

/** A stream that keeps what is written, synchronously (text() is current once write() returns). */
export function textSink(): Writable & { text: () => string } {
  let text = '';
  return Object.assign(new Writable({ write: (chunk, _enc, cb) => ((text += String(chunk)), cb()) }), {
    text: () => text,
  });
}

export interface MemIo extends Io {
  out: () => string;
  err: () => string;
}

export interface MemIoOptions {
  /** A project dir: becomes cwd, HOME and XDG_CONFIG_HOME's parent (no user config leaks in). */
  home?: string;
  cwd?: string;
  /** Added to (or, without `home`, the whole of) the environment. */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export function memIo(opts: MemIoOptions = {}): MemIo {
  const stdout = textSink();
  const stderr = textSink();
  const homeEnv = opts.home !== undefined ? { HOME: opts.home, XDG_CONFIG_HOME: join(opts.home, '.cfg') } : {};
  return {
    stdout,
    stderr,
    env: { ...homeEnv, ...opts.env },
    cwd: opts.cwd ?? opts.home ?? '/',
    now: opts.now ?? (() => 0),
    out: stdout.text,
    err: stderr.text,
  };
}
