import { describe, expect, it } from 'vitest';
import { pollUntil, sleep, waitFor, type Sleep } from '../../src/proc/poll.js';

/** A clock that only moves when the poll sleeps; records every wait. */
function fakeClock(start = 1000) {
  let t = start;
  const waits: number[] = [];
  const fakeSleep: Sleep = async (ms) => {
    waits.push(ms);
    t += ms;
  };
  return { now: () => t, sleep: fakeSleep, waits };
}

describe('pollUntil', () => {
  it('returns the first value that is not undefined, without waiting when it is there at once', async () => {
    const c = fakeClock();
    const out = await pollUntil(() => 'here', { timeoutMs: 100, now: c.now, sleep: c.sleep });
    expect(out).toEqual({ done: true, value: 'here' });
    expect(c.waits).toEqual([]);
  });

  it('keeps asking until the value comes, doubling the interval up to its cap', async () => {
    const c = fakeClock();
    let calls = 0;
    const out = await pollUntil(() => (++calls === 6 ? calls : undefined), {
      timeoutMs: 10_000,
      intervalMs: 10,
      maxIntervalMs: 50,
      now: c.now,
      sleep: c.sleep,
    });
    expect(out).toEqual({ done: true, value: 6 });
    expect(c.waits).toEqual([10, 20, 40, 50, 50]);
  });

  it('keeps a constant pace when no cap is given', async () => {
    const c = fakeClock();
    let calls = 0;
    await pollUntil(() => (++calls === 4 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 30,
      now: c.now,
      sleep: c.sleep,
    });
    expect(c.waits).toEqual([30, 30, 30]);
  });

  it('times out at the deadline, cutting the last wait to end there and checking once more', async () => {
    const c = fakeClock(0);
    const seen: number[] = [];
    const out = await pollUntil(
      () => {
        seen.push(c.now());
        return undefined;
      },
      { timeoutMs: 100, intervalMs: 40, now: c.now, sleep: c.sleep },
    );
    expect(out).toEqual({ done: false, reason: 'timeout' });
    expect(c.waits).toEqual([40, 40, 20]);
    expect(seen).toEqual([0, 40, 80, 100]);
  });

  it('takes an absolute deadline on the injected clock', async () => {
    const c = fakeClock(500);
    const out = await pollUntil(() => undefined, { deadline: 560, intervalMs: 25, now: c.now, sleep: c.sleep });
    expect(out).toEqual({ done: false, reason: 'timeout' });
    expect(c.waits).toEqual([25, 25, 10]);
  });

  it('a deadline already past still checks once', async () => {
    const c = fakeClock(500);
    let calls = 0;
    const out = await pollUntil(() => (++calls, undefined), { deadline: 100, now: c.now, sleep: c.sleep });
    expect(out).toEqual({ done: false, reason: 'timeout' });
    expect(calls).toBe(1);
  });

  it('nextIntervalMs overrides the doubling', async () => {
    const c = fakeClock();
    let calls = 0;
    await pollUntil(() => (++calls === 4 ? true : undefined), {
      timeoutMs: Infinity,
      intervalMs: 5,
      nextIntervalMs: (last) => last + 1,
      now: c.now,
      sleep: c.sleep,
    });
    expect(c.waits).toEqual([5, 6, 7]);
  });

  it('an unbounded wait (timeoutMs: Infinity) ends by its check', async () => {
    const c = fakeClock();
    let calls = 0;
    const out = await pollUntil(() => (++calls === 200 ? 'late' : undefined), {
      timeoutMs: Infinity,
      intervalMs: 1000,
      maxIntervalMs: 60_000,
      now: c.now,
      sleep: c.sleep,
    });
    expect(out).toEqual({ done: true, value: 'late' });
    expect(c.now()).toBeGreaterThan(1000 + 190 * 60_000);
  });

  it('awaits an async check', async () => {
    const c = fakeClock();
    let calls = 0;
    const out = await pollUntil(async () => (++calls === 3 ? 'async' : undefined), {
      timeoutMs: 1000,
      now: c.now,
      sleep: c.sleep,
    });
    expect(out).toEqual({ done: true, value: 'async' });
  });

  it('refuses a poll with no bound at all (a forgotten deadline is a bug, not a forever wait)', async () => {
    await expect(pollUntil(() => undefined, {})).rejects.toThrow(/timeoutMs or a deadline/);
  });

  it('an abort before the start answers aborted without checking', async () => {
    const ac = new AbortController();
    ac.abort();
    let calls = 0;
    const out = await pollUntil(() => (++calls, undefined), { timeoutMs: 1000, signal: ac.signal });
    expect(out).toEqual({ done: false, reason: 'aborted' });
    expect(calls).toBe(0);
  });

  it('an abort cuts a real wait short (well before the interval)', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const pending = pollUntil(() => undefined, { timeoutMs: 60_000, intervalMs: 30_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    expect(await pending).toEqual({ done: false, reason: 'aborted' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('passes the signal to an injected sleep (so a custom waker can be cut short too)', async () => {
    const ac = new AbortController();
    const signals: Array<AbortSignal | undefined> = [];
    const out = await pollUntil(() => undefined, {
      timeoutMs: 1000,
      signal: ac.signal,
      sleep: async (_ms, s) => {
        signals.push(s);
        ac.abort();
      },
    });
    expect(out).toEqual({ done: false, reason: 'aborted' });
    expect(signals).toEqual([ac.signal]);
  });

  it('with the real clock, a 60 ms timeout ends between 60 ms and a few seconds', async () => {
    const t0 = Date.now();
    const out = await pollUntil(() => undefined, { timeoutMs: 60, intervalMs: 10 });
    const took = Date.now() - t0;
    expect(out.done).toBe(false);
    expect(took).toBeGreaterThanOrEqual(59);
    expect(took).toBeLessThan(3000);
  });
});

describe('waitFor', () => {
  it('is true once the condition holds, false at the deadline', async () => {
    const c = fakeClock();
    let n = 0;
    expect(await waitFor(() => ++n > 2, { timeoutMs: 1000, now: c.now, sleep: c.sleep })).toBe(true);
    expect(await waitFor(() => false, { timeoutMs: 1000, now: c.now, sleep: c.sleep })).toBe(false);
  });
});

describe('sleep', () => {
  it('resolves at once on an already aborted signal, and after the time otherwise', async () => {
    const ac = new AbortController();
    ac.abort();
    const t0 = Date.now();
    await sleep(10_000, ac.signal);
    expect(Date.now() - t0).toBeLessThan(1000);
    const t1 = Date.now();
    await sleep(30);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(29);
  });
});
