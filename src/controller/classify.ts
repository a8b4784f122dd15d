/**
 * How a job ended, as a pure function of what ended it: the stop reason (if any), the error a
 * phase threw (if any), and the entrypoint's exit (if it ran). Tested as a table in
 * test/unit/classify.test.ts. Exit codes: the entrypoint's own (128 + signal when killed), 128 +
 * the stop signal when one stopped the job (before or while the entrypoint ran), 5 for a lost node, a RayslError's
 * own code (4 cluster did not form, ...), 70 for anything unexpected.
 */
import { constants as osConstants } from 'node:os';
import { InternalError, NodeLostError, PreemptedError, RayslError, asRayslError } from '../core/errors.js';
import type { ExitInfo } from '../proc/terminate.js';
import { exitCodeOf } from './entrypoint.js';
import { Cancelled } from './join.js';
import type { StopReason } from './stop.js';

export interface Outcome {
  state: 'succeeded' | 'failed' | 'cancelled' | 'preempted';
  exitCode: number;
  /** Thrown to the CLI after teardown, and written to status.json. */
  error?: RayslError;
}

export function classify(
  reason: StopReason | undefined,
  error: unknown,
  entrypointExit: ExitInfo | undefined,
): Outcome {
  if (error !== undefined) {
    // a phase gave up because of the stop (Cancelled, or whatever broke as things stopped under it)
    const dueToStop = error instanceof Cancelled || (reason !== undefined && !(error instanceof RayslError));
    if (!dueToStop) return failedWith(asRayslError(error));
    if (reason?.kind === 'node-lost') return failedWith(nodeLost(reason));
    if (reason?.kind === 'preempt') return preempted(undefined);
    return { state: 'cancelled', exitCode: 128 + signalNumber(reason?.kind === 'signal' ? reason.signal : 'SIGTERM') };
  }
  if (entrypointExit === undefined) {
    return failedWith(
      new InternalError('the job ended with neither an error nor an entrypoint exit', {
        hint: 'this is a bug in raysl',
      }),
    );
  }
  if (reason?.kind === 'node-lost') return failedWith(nodeLost(reason));
  // whatever the entrypoint did with its grace, the work was cut short: 6, its own code in the timeline
  if (reason?.kind === 'preempt') return preempted(exitCodeOf(entrypointExit, signalNumber));
  // the user interrupted or cancelled the run: it ends as a shell's would (Ctrl-C 130, TERM and
  // scancel 143, HUP 129) whatever the entrypoint did with the signal (a checkpoint and exit 0, a
  // trap, a KILL after its grace); its own code stays in the timeline (entrypoint-exited)
  if (reason?.kind === 'signal') return { state: 'cancelled', exitCode: 128 + signalNumber(reason.signal) };
  const exitCode = exitCodeOf(entrypointExit, signalNumber);
  return { state: exitCode === 0 ? 'succeeded' : 'failed', exitCode };
}

function preempted(entrypointCode: number | undefined): Outcome {
  const after =
    entrypointCode === undefined
      ? 'before the entrypoint started'
      : `; the entrypoint exited with code ${entrypointCode}`;
  const error = new PreemptedError(
    `stopped at Slurm's warning (time limit near, or preemption)${entrypointCode === undefined ? ' ' : ''}${after}`,
    {
      hint: 'resubmit (the entrypoint should resume from its checkpoint), or submit with --requeue --max-restarts N',
    },
  );
  return { state: 'preempted', exitCode: error.exitCode, error };
}

function failedWith(error: RayslError): Outcome {
  return { state: 'failed', exitCode: error.exitCode, error };
}

function nodeLost(r: { node: string; reason: string; log: string }): NodeLostError {
  return new NodeLostError(`node ${r.node} was lost while the job was running: ${r.reason}`, {
    hint: `read ${r.log}; pass --continue-on-node-loss to keep going without it`,
    details: { node: r.node, log: r.log },
  });
}

export function signalNumber(s: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[s] ?? 15;
}
