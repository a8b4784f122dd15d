import { describe, expect, it } from 'vitest';
import { TeardownStack } from '../../src/agent/teardown.js';

describe('agent teardown stack', () => {
  it('undoes in reverse push order, async steps awaited one after another', async () => {
    const done: string[] = [];
    const t = new TeardownStack(1000, () => {});
    t.push('channel', () => done.push('channel'));
    t.push('runtime', async () => {
      await Promise.resolve();
      done.push('runtime');
    });
    t.push('commands', () => done.push('commands'));
    await t.run();
    expect(done).toEqual(['commands', 'runtime', 'channel']);
  });

  it('a throwing step and a hanging step are logged and never keep the rest from running', async () => {
    const done: string[] = [];
    const log: string[] = [];
    const t = new TeardownStack(50, (l) => log.push(l));
    t.push('channel', () => done.push('channel'));
    t.push('runtime', () => new Promise(() => {}));
    t.push('scratch', () => {
      throw new Error('EBUSY');
    });
    const t0 = performance.now();
    await t.run();
    expect(done).toEqual(['channel']);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(log).toEqual(['teardown: stopping scratch failed: EBUSY', 'teardown: stopping runtime took over 50 ms; going on']);
  });

  it('runs each step once, even when run twice', async () => {
    let n = 0;
    const t = new TeardownStack(1000, () => {});
    t.push('x', () => n++);
    await t.run();
    await t.run();
    expect(n).toBe(1);
  });
});
