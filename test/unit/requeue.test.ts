import { describe, expect, it } from 'vitest';
import { requeueDecision } from '../../src/controller/requeue.js';
import type { Outcome } from '../../src/controller/classify.js';
import { NodeLostError, PreemptedError } from '../../src/core/errors.js';
import type { Plan } from '../../src/core/types.js';

const plan = (maxRestarts?: number) => ({ ...(maxRestarts !== undefined ? { requeue: { maxRestarts } } : {}) }) as Plan;
const preempted: Outcome = { state: 'preempted', exitCode: 6, error: new PreemptedError('warned') };
const lost: Outcome = { state: 'failed', exitCode: 5, error: new NodeLostError('node2 lost') };
const ok: Outcome = { state: 'succeeded', exitCode: 0 };
const failed5: Outcome = { state: 'failed', exitCode: 5 }; // the entrypoint's own exit 5: not a lost node

describe('requeueDecision', () => {
  it.each([
    ['no --requeue', plan(), 0, preempted, true, false, undefined],
    [
      'preempted, attempt 0 of max 1',
      plan(1),
      0,
      preempted,
      true,
      true,
      /requeued after Slurm's warning: attempt 1 of at most 2 \(SLURM_RESTART_COUNT 0 < --max-restarts 1\)/,
    ],
    [
      'lost node, attempt 1 of max 3',
      plan(3),
      1,
      lost,
      true,
      true,
      /requeued after a lost node: attempt 2 of at most 4/,
    ],
    [
      'preempted at the limit',
      plan(1),
      1,
      preempted,
      true,
      false,
      /not requeued after Slurm's warning: restart count 1 reached --max-restarts 1/,
    ],
    ['succeeded', plan(1), 0, ok, true, false, undefined],
    ["the entrypoint's own exit 5", plan(1), 0, failed5, true, false, undefined],
    ['no Slurm to requeue with (--local)', plan(1), 0, preempted, false, false, /this launcher cannot requeue/],
  ] as const)('%s', (_what, p, attempt, outcome, canRequeue, requeue, why) => {
    const d = requeueDecision(p, attempt, outcome, canRequeue);
    expect(d.requeue).toBe(requeue);
    if (why) expect(d.why).toMatch(why);
    else expect(d.why).toBeUndefined();
  });
});
