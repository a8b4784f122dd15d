/** Whether a finished attempt is run again (--requeue): a pure decision, tested as a table. */
import type { Plan } from '../core/types.js';
import type { Outcome } from './classify.js';
import { ExitCode } from '../core/errors.js';

export type RequeueDecision = { requeue: true; why: string } | { requeue: false; why?: string };

export function requeueDecision(plan: Plan, attempt: number, outcome: Outcome, canRequeue: boolean): RequeueDecision {
  if (!plan.requeue) return { requeue: false };
  const cause =
    outcome.state === 'preempted'
      ? "Slurm's warning"
      : outcome.exitCode === ExitCode.nodeLost && outcome.error
        ? 'a lost node'
        : undefined;
  if (cause === undefined) return { requeue: false };
  const max = plan.requeue.maxRestarts;
  if (attempt >= max)
    return {
      requeue: false,
      why: `not requeued after ${cause}: restart count ${attempt} reached --max-restarts ${max}`,
    };
  if (!canRequeue)
    return { requeue: false, why: `not requeued after ${cause}: this launcher cannot requeue (--requeue needs Slurm)` };
  return {
    requeue: true,
    why: `requeued after ${cause}: attempt ${attempt + 1} of at most ${max + 1} (SLURM_RESTART_COUNT ${attempt} < --max-restarts ${max})`,
  };
}
