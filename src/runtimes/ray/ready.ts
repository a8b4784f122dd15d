/**
 * Waiting until a TCP port on an address accepts a connection. Ray prints "Ray runtime started."
 * once its daemons are launched, not once they listen; the port answering is the evidence. A port
 * can only be probed by trying, so this polls with backoff (50 ms doubling to 1 s) under a deadline,
 * and stops as soon as `abort` settles (the process exited).
 */
import { connect } from 'node:net';

function tryConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function waitForPort(
  host: string,
  port: number,
  opts: { deadline: number; abort: Promise<unknown> },
): Promise<'open' | 'timeout' | 'aborted'> {
  let aborted = false;
  void opts.abort.then(() => {
    aborted = true;
  });
  let delay = 50;
  for (;;) {
    if (aborted) return 'aborted';
    if (await tryConnect(host, port, 1000)) return 'open';
    const left = opts.deadline - Date.now();
    if (left <= 0) return 'timeout';
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise((r) => {
        timer = setTimeout(r, Math.min(delay, left));
      }),
      opts.abort,
    ]);
    clearTimeout(timer);
    delay = Math.min(delay * 2, 1000);
  }
}
