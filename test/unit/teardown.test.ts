import { describe, expect, it } from 'vitest';
import { TeardownStack } from '../../src/proc/teardown.js';

function stack(boundMs = 5000) {
  const lines: string[] = [];
  return { lines, teardown: new TeardownStack({ log: (l) => lines.push(l), boundMs }) };
}

// the one teardown stack of the controller and the agents (src/proc/teardown.ts)
describe('teardown stack', () => {
  it('undoes steps in reverse push order and logs each one, quiet ones excepted', async () => {
    const { lines, teardown } = stack();
    const ran: string[] = [];
    for (const name of ['signal handlers', 'port record', 'control server', 'agents', 'entrypoint']) {
      teardown.push({ name, run: async () => void ran.push(name), quiet: name === 'signal handlers' });
    }
    await teardown.unwind();
    expect(ran).toEqual(['entrypoint', 'agents', 'control server', 'port record', 'signal handlers']);
    expect(lines).toEqual([
      'teardown: entrypoint done',
      'teardown: agents done',
      'teardown: control server done',
      'teardown: port record done',
    ]);
  });

  it('a failing step is logged and the next one still runs', async () => {
    const { lines, teardown } = stack();
    let recordReleased = false;
    teardown.push({ name: 'port record', run: async () => void (recordReleased = true) });
    teardown.push({ name: 'control server', run: async () => Promise.reject(new Error('EBADF')) });
    await teardown.unwind();
    expect(recordReleased).toBe(true);
    expect(lines).toEqual(['teardown of control server failed: EBADF', 'teardown: port record done']);
  });

  it('a step that overruns its bound is left behind with a line saying so', async () => {
    const { lines, teardown } = stack();
    let after = false;
    teardown.push({ name: 'port record', run: async () => void (after = true) });
    teardown.push({ name: 'agents', run: () => new Promise<void>(() => {}), boundMs: 30 });
    await teardown.unwind();
    expect(after).toBe(true);
    expect(lines).toEqual([
      expect.stringMatching(/^teardown of agents failed: not done after \S+s, moving on$/),
      'teardown: port record done',
    ]);
  });

  it('hurry reaches the running step and the ones not run yet, not the finished ones, and steps pushed later', async () => {
    const { teardown } = stack();
    const hurried: string[] = [];
    let release: () => void = () => {};
    let started: () => void = () => {};
    const entrypointRunning = new Promise<void>((r) => (started = r));
    teardown.push({ name: 'agents', run: async () => {}, hurry: () => hurried.push('agents') });
    // the entrypoint ignores TERM: its step ends only once hurried
    teardown.push({
      name: 'entrypoint',
      run: () => (started(), new Promise<void>((r) => (release = r))),
      hurry: () => (hurried.push('entrypoint'), release()),
    });
    teardown.push({ name: 'control server', run: async () => {}, hurry: () => hurried.push('control server') });
    const unwinding = teardown.unwind();
    // control server finished, entrypoint running, agents still to come
    await entrypointRunning;
    teardown.hurry();
    await unwinding;
    expect(hurried).toEqual(['agents', 'entrypoint']);
    teardown.push({ name: 'late', run: async () => {}, hurry: () => hurried.push('late') });
    expect(hurried).toEqual(['agents', 'entrypoint', 'late']);
  });

  it('sync and async steps, awaited one after another; a sync throw is logged like a rejection', async () => {
    const { lines, teardown } = stack();
    const done: string[] = [];
    teardown.push({ name: 'channel', run: () => done.push('channel') });
    teardown.push({
      name: 'runtime',
      run: async () => {
        await new Promise((r) => setTimeout(r, 20));
        done.push('runtime');
      },
    });
    teardown.push({
      name: 'scratch',
      run: () => {
        throw new Error('EBUSY');
      },
    });
    teardown.push({ name: 'commands', run: () => done.push('commands') });
    await teardown.unwind();
    expect(done).toEqual(['commands', 'runtime', 'channel']);
    expect(lines).toEqual([
      'teardown: commands done',
      'teardown of scratch failed: EBUSY',
      'teardown: runtime done',
      'teardown: channel done',
    ]);
  });

  it('a hanging step is left at its bound (the default one when it gives none)', async () => {
    const { lines, teardown } = stack(50);
    teardown.push({ name: 'channel', run: () => undefined });
    teardown.push({ name: 'runtime', run: () => new Promise(() => {}) });
    const t0 = performance.now();
    await teardown.unwind();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(lines).toEqual(['teardown of runtime failed: not done after 0.1s, moving on', 'teardown: channel done']);
  });

  it('runs each step once, even when unwound twice; a step pushed during the unwind runs next', async () => {
    const { teardown } = stack();
    const ran: string[] = [];
    teardown.push({ name: 'x', run: () => ran.push('x') });
    teardown.push({
      name: 'y',
      run: () => (ran.push('y'), teardown.push({ name: 'late', run: () => ran.push('late') })),
    });
    await teardown.unwind();
    await teardown.unwind();
    expect(ran).toEqual(['y', 'late', 'x']);
  });
});
