/** A spinner on a TTY, plain timestamped lines otherwise (logs, CI, --json). */
import ora, { type Ora } from 'ora';
import { colorEnabled, type GlobalOptions, type Io } from './io.js';

export interface Progress {
  update(text: string): void;
  /** A line that stays (a join, a phase change). */
  log(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

export function progress(opts: GlobalOptions, io: Io): Progress {
  const tty = Boolean(io.stderr.isTTY) && !opts.json && !io.env.CI;
  if (!tty) {
    let last = '';
    const line = (t: string) => io.stderr.write(t + '\n');
    return {
      update: (t) => {
        if (t !== last) line(t);
        last = t;
      },
      log: line,
      succeed: line,
      fail: line,
      stop: () => {},
    };
  }
  const spin: Ora = ora({
    stream: io.stderr as NodeJS.WriteStream,
    color: 'cyan',
    isEnabled: true,
    discardStdin: false,
  });
  if (!colorEnabled(opts, io)) spin.color = 'white';
  spin.start();
  return {
    update: (t) => {
      spin.text = t;
    },
    log: (t) => {
      const text = spin.text;
      spin.stopAndPersist({ symbol: ' ', text: t });
      spin.start(text);
    },
    succeed: (t) => void spin.succeed(t),
    fail: (t) => void spin.fail(t),
    stop: () => void spin.stop(),
  };
}
