/**
 * The one poll-until-deadline loop. Where no event says "it happened" (a process group empties, a
 * port starts to answer, a file changes on NFS, Slurm's view of a job moves), raysl asks again:
 * fast at first, backing off to a cap, never past a deadline, and at once when told to stop.
 * Every wait is bounded or says it is not (`timeoutMs: Infinity`); the clock and the sleep are
 * injectable, so a test drives it without real time passing.
 */
import { InternalError } from '../core/errors.js';

/** Sleeps `ms` or until `signal` aborts, whichever comes first (never rejects). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface PollOptions {
  /**
   * How long to keep asking, from the first check: a number of ms, or `Infinity` for a wait that is
   * bounded by something else (a signal, Ctrl-C, the check itself returning a verdict).
   */
  timeoutMs?: number;
  /** An absolute deadline on `now`'s clock instead of `timeoutMs`. */
  deadline?: number;
  /** First interval between checks (default 50 ms). */
  intervalMs?: number;
  /** Longest interval: each wait doubles the last up to this (default: intervalMs, a constant pace). */
  maxIntervalMs?: number;
  /** Overrides the doubling: the wait before the next check, given the last one. */
  nextIntervalMs?: (lastMs: number) => number;
  /** Stops the poll (outcome `aborted`), also in the middle of a wait. */
  signal?: AbortSignal;
  now?: () => number;
  sleep?: Sleep;
}

export type PollOutcome<T> = { done: true; value: T } | { done: false; reason: 'timeout' | 'aborted' };

/** The default sleep: a timer, cut short by the signal. */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Calls `check` until it returns a value other than `undefined`, the deadline passes, or `signal`
 * aborts. The check always runs once, and once more at the deadline (the last wait is cut to end
 * there), so a condition that comes true just in time is seen.
 */
export async function pollUntil<T>(
  check: () => T | undefined | Promise<T | undefined>,
  opts: PollOptions,
): Promise<PollOutcome<T>> {
  const now = opts.now ?? Date.now;
  const doSleep = opts.sleep ?? sleep;
  if (opts.timeoutMs === undefined && opts.deadline === undefined) {
    throw new InternalError('pollUntil needs a timeoutMs or a deadline (Infinity for an unbounded wait)', {
      hint: 'this is a bug in raysl',
    });
  }
  const end = opts.deadline ?? now() + (opts.timeoutMs as number);
  const first = opts.intervalMs ?? 50;
  const cap = opts.maxIntervalMs ?? first;
  const next = opts.nextIntervalMs ?? ((last: number) => Math.min(last * 2, cap));
  let interval = first;
  for (;;) {
    if (opts.signal?.aborted) return { done: false, reason: 'aborted' };
    const value = await check();
    if (value !== undefined) return { done: true, value };
    if (opts.signal?.aborted) return { done: false, reason: 'aborted' };
    const left = end - now();
    if (left <= 0) return { done: false, reason: 'timeout' };
    await doSleep(Math.max(1, Math.min(interval, left)), opts.signal);
    interval = next(interval);
  }
}

/** `pollUntil` for a condition: true once `condition()` holds, false at the deadline or on abort. */
export async function waitFor(condition: () => boolean | Promise<boolean>, opts: PollOptions): Promise<boolean> {
  const outcome = await pollUntil(async () => ((await condition()) ? true : undefined), opts);
  return outcome.done;
}
