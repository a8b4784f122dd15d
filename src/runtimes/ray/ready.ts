/**
 * Waiting until a TCP port on an address accepts a connection. Ray prints "Ray runtime started."
 * once its daemons are launched, not once they listen; the port answering is the evidence. A port
 * can only be probed by trying, so this polls with backoff (50 ms doubling to 1 s) under a deadline,
 * and stops as soon as `abort` settles (the process exited).
 */
import { connect } from 'node:net';
import { pollUntil } from '../../proc/poll.js';

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
  const aborted = new AbortController();
  void opts.abort.then(() => aborted.abort());
  const r = await pollUntil(async () => ((await tryConnect(host, port, 1000)) ? ('open' as const) : undefined), {
    deadline: opts.deadline,
    intervalMs: 50,
    maxIntervalMs: 1000,
    signal: aborted.signal,
  });
  return r.done ? r.value : r.reason;
}
