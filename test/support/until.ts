/**
 * The tests' wait for a condition: src/proc/poll.ts's pollUntil (the product's one poll loop), with
 * a deadline that fails the test naming what never came. A probe that throws fails at once (a
 * process that exited first need not be waited out).
 */
import { pollUntil, type PollOptions } from '../../src/proc/poll.js';

export type Pace = Pick<PollOptions, 'intervalMs' | 'maxIntervalMs'>;

/** Fast first (things usually happen within milliseconds), backing off so a long wait costs little CPU. */
export const FAST: Pace = { intervalMs: 10, maxIntervalMs: 100 };

/** Polls `probe` until it returns a value other than undefined; throws naming `what` at the deadline. */
export async function until<T>(
  what: string | (() => string),
  probe: () => T | undefined | Promise<T | undefined>,
  ms: number,
  pace: Pace = FAST,
): Promise<T> {
  const r = await pollUntil(probe, { timeoutMs: ms, ...pace });
  if (r.done) return r.value;
  throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
}

/** `probe`, with a throw read as "not yet" (a file not written yet, half a JSON file). */
export function notYetOnThrow<T>(probe: () => T | undefined): () => T | undefined {
  return () => {
    try {
      return probe();
    } catch {
      return undefined;
    }
  };
}
