/**
 * One raysl CLI process for a test: output collected as it arrives, the exit code (128+n for a
 * signal), and waits on output with a deadline (woken by each chunk, never polled on a timer).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number>;
  /** Resolves when stdout/stderr matches; rejects at the deadline or if the process exits first. */
  waitFor(re: RegExp, ms?: number, stream?: 'stdout' | 'stderr'): Promise<RegExpMatchArray>;
}

export function spawnCli(
  argv: string[],
  opts: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    defaultStream: 'stdout' | 'stderr';
    defaultMs: number;
    command?: string;
    stdin?: 'pipe';
  },
): CliProcess {
  // the node running the tests runs the bundle, unless `command` names what a user runs (an installed raysl)
  const child = spawn(opts.command ?? process.execPath, argv, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let closed = false;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  child.stdout!.on('data', (b: Buffer) => ((out += b.toString()), wake()));
  child.stderr!.on('data', (b: Buffer) => ((err += b.toString()), wake()));
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => {
      closed = true;
      wake();
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
    });
  });
  const both = () => `stdout:\n${out}\nstderr:\n${err}`;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re, ms = opts.defaultMs, stream = opts.defaultStream) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} on ${stream} within ${ms} ms; ${both()}`)), ms);
        const check = () => {
          const m = (stream === 'stdout' ? out : err).match(re);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else if (closed || child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`raysl exited before ${re} appeared on ${stream}; ${both()}`));
          } else waiters.push(check);
        };
        check();
      }),
  };
}
