/**
 * How an agent's run ends, as a value, and what follows from it: the exit code, the log line and
 * what the controller is told. classify() is pure and tested as a table; Ending is the latch the
 * phases race against (the first outcome wins: a stop followed by the lost channel is a stop).
 */
import { Latch } from '../core/latch.js';
import type { AgentMessage } from '../protocol/agent.js';
import type { StopSignal } from '../proc/signals.js';

export type Outcome =
  /** The controller said stop (the job ended or this node is not needed). */
  | { kind: 'stop'; reason: string }
  /** The controller refused this agent (not part of the job, a duplicate, shutting down). */
  | { kind: 'refused'; reason: string }
  | { kind: 'signal'; signal: StopSignal }
  /** The channel closed without a stop: the controller died or the node was cut off. */
  | { kind: 'lost' }
  /** This node cannot run its part: Slurm granted less than the plan, or --iface names nothing usable. */
  | { kind: 'unfit'; reason: string; hint?: string }
  | { kind: 'start-failed'; runtime: string; reason: string; hint?: string }
  | { kind: 'runtime-exited'; code: number | null; signal: string | null; detail?: string };

export interface Classified {
  code: number;
  line: string;
  /** What the controller must hear before the channel closes (a closed channel alone says "lost"). */
  tell?: AgentMessage;
}

export function classify(o: Outcome): Classified {
  switch (o.kind) {
    case 'stop':
      return { code: 0, line: `stopping: ${o.reason}` };
    case 'refused':
      return { code: 0, line: `refused by the controller: ${o.reason}` };
    case 'signal':
      return { code: 0, line: `stopping: received ${o.signal}`, tell: { t: 'signalled', signal: o.signal } };
    case 'lost':
      return { code: 1, line: 'the controller went away: stopping everything this agent started' };
    case 'unfit':
      return { code: 1, line: `refusing to start: ${o.reason}`, tell: failMessage(o) };
    case 'start-failed':
      return { code: 1, line: `runtime ${o.runtime} failed to start: ${o.reason}`, tell: failMessage(o) };
    case 'runtime-exited':
      return {
        code: 1,
        line: `the runtime exited on its own (code ${o.code ?? 'none'}, signal ${o.signal ?? 'none'})`,
        tell: {
          t: 'runtime-exited',
          code: o.code,
          signal: o.signal,
          ...(o.detail !== undefined ? { detail: o.detail } : {}),
        },
      };
  }
}

function failMessage(o: { reason: string; hint?: string }): AgentMessage {
  return { t: 'fail', reason: o.reason, ...(o.hint !== undefined ? { hint: o.hint } : {}) };
}

/** Phases return their result or how the agent ended; results never carry `kind`. */
export function isOutcome<T extends object>(x: T | Outcome): x is Outcome {
  return 'kind' in x;
}

/** The first outcome wins; later ones (the channel closing during teardown) are ignored. */
export class Ending extends Latch<Outcome> {}
