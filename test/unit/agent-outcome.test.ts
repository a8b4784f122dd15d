import { describe, expect, it } from 'vitest';
import { classify, Ending, type Outcome } from '../../src/agent/outcome.js';

describe('agent outcome -> exit code, log line, what the controller hears', () => {
  it.each<[Outcome, number, RegExp, unknown]>([
    [{ kind: 'stop', reason: 'the job finished' }, 0, /^stopping: the job finished$/, undefined],
    [
      { kind: 'refused', reason: 'the job is shutting down' },
      0,
      /^refused by the controller: the job is shutting down$/,
      undefined,
    ],
    [{ kind: 'signal', signal: 'SIGTERM' }, 0, /^stopping: received SIGTERM$/, { t: 'signalled', signal: 'SIGTERM' }],
    [{ kind: 'lost' }, 1, /^the controller went away/, undefined],
    [
      { kind: 'unfit', reason: 'node2: the plan needs 2 GPU(s)', hint: 'submit with --gpus-per-node' },
      1,
      /^refusing to start: node2: the plan needs 2 GPU/,
      { t: 'fail', reason: 'node2: the plan needs 2 GPU(s)', hint: 'submit with --gpus-per-node' },
    ],
    [
      { kind: 'unfit', reason: 'no interface ib9' },
      1,
      /^refusing to start: no interface ib9$/,
      { t: 'fail', reason: 'no interface ib9' },
    ],
    [
      { kind: 'start-failed', runtime: 'ray', reason: 'ray not found', hint: 'pip install ray' },
      1,
      /^runtime ray failed to start: ray not found$/,
      { t: 'fail', reason: 'ray not found', hint: 'pip install ray' },
    ],
    [
      { kind: 'runtime-exited', code: 137, signal: null, detail: 'raylet died' },
      1,
      /^the runtime exited on its own \(code 137, signal none\)$/,
      { t: 'runtime-exited', code: 137, signal: null, detail: 'raylet died' },
    ],
    [
      { kind: 'runtime-exited', code: null, signal: 'SIGKILL' },
      1,
      /code none, signal SIGKILL/,
      { t: 'runtime-exited', code: null, signal: 'SIGKILL' },
    ],
  ])('%j', (outcome, code, line, tell) => {
    const c = classify(outcome);
    expect(c.code).toBe(code);
    expect(c.line).toMatch(line);
    expect(c.tell).toEqual(tell);
  });
});

describe('Ending', () => {
  it('keeps the first outcome: a stop followed by the channel closing is a stop', async () => {
    const e = new Ending();
    expect(e.value).toBeUndefined();
    e.settle({ kind: 'stop', reason: 'done' });
    e.settle({ kind: 'lost' });
    expect(e.value).toEqual({ kind: 'stop', reason: 'done' });
    await expect(e.promise).resolves.toEqual({ kind: 'stop', reason: 'done' });
  });
});
