import { describe, expect, it } from 'vitest';
import { TeardownStack } from '../../src/controller/teardown.js';

function stack(boundMs = 5000) {
  const lines: string[] = [];
  return { lines, teardown: new TeardownStack((l) => lines.push(l), boundMs) };
}

describe('teardown stack', () => {
  it('undoes steps in reverse push order and logs each one, quiet ones excepted', async () => {
    const { lines, teardown } = stack();
    const ran: string[] = [];
    for (const name of ['signal handlers', 'port record', 'control server', 'agents', 'entrypoint']) {
      teardown.push({ name, run: async () => void ran.push(name), quiet: name === 'signal handlers' });
    }
    await teardown.unwind();
    expect(ran).toEqual(['entrypoint', 'agents', 'control server', 'port record', 'signal handlers']);
    expect(lines).toEqual(['teardown: entrypoint done', 'teardown: agents done', 'teardown: control server done', 'teardown: port record done']);
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
    expect(lines).toEqual([expect.stringMatching(/^teardown of agents failed: not done after \S+s, moving on$/), 'teardown: port record done']);
  });

  it('hurry reaches the running step and the ones not run yet, not the finished ones, and steps pushed later', async () => {
    const { teardown } = stack();
    const hurried: string[] = [];
    let release: () => void = () => {};
    let started: () => void = () => {};
    const entrypointRunning = new Promise<void>((r) => (started = r));
    teardown.push({ name: 'agents', run: async () => {}, hurry: () => hurried.push('agents') });
    // the entrypoint ignores TERM: its step ends only once hurried
    teardown.push({ name: 'entrypoint', run: () => (started(), new Promise<void>((r) => (release = r))), hurry: () => (hurried.push('entrypoint'), release()) });
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
});
