/**
 * The teardown stack of the controller and of every agent. Each phase pushes a step for what it
 * starts, as it starts it, so teardown undoes the job in reverse start order by construction
 * (STYLE.md principle 8). Each step is bounded and logged ("teardown: X done" lines: tests and
 * users read them); a step that throws or overruns its bound is logged and the next one runs, so
 * nothing started may outlive its owner. `hurry()` (a second stop signal) tells every step not yet
 * finished, the running one included, to KILL now instead of waiting out its grace.
 */
import { within } from './terminate.js';

export interface TeardownStep {
  /** As the log names it: "teardown: <name> done". */
  name: string;
  /** Undoes what the phase started; sync or async. */
  run: () => unknown;
  /** Skip the grace and KILL at once; may come before the step runs, or while it runs. */
  hurry?: () => void;
  /** Longest teardown waits for the step (its own TERM -> grace -> KILL should end well before). */
  boundMs?: number;
  /** Bookkeeping nobody needs to read about (unhooking the signal handlers): not logged. */
  quiet?: boolean;
}

export interface TeardownOptions {
  log: (line: string) => void;
  /** Bound of a step that gives none (a TERM, grace, KILL sequence fits inside). */
  boundMs: number;
}

export class TeardownStack {
  /** Steps not run yet, in push order. */
  private readonly steps: TeardownStep[] = [];
  private running: TeardownStep | undefined;
  private hurried = false;

  constructor(private readonly opts: TeardownOptions) {}

  push(step: TeardownStep): void {
    this.steps.push(step);
    // started after a second signal: the user asked for everything to die at once, this too
    if (this.hurried) step.hurry?.();
  }

  hurry(): void {
    this.hurried = true;
    for (const step of this.steps) step.hurry?.();
    this.running?.hurry?.();
  }

  /**
   * Runs every step, last pushed first (one pushed meanwhile runs next); never throws. Each step
   * runs once: a second call finds only what was pushed since.
   */
  async unwind(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      this.running = step;
      await this.runStep(step);
      this.running = undefined;
    }
  }

  private async runStep(step: TeardownStep): Promise<void> {
    const bound = step.boundMs ?? this.opts.boundMs;
    try {
      if ((await within(Promise.resolve().then(step.run), bound)) === 'timeout') {
        this.opts.log(`teardown of ${step.name} failed: not done after ${(bound / 1000).toFixed(1)}s, moving on`);
        return;
      }
      if (!step.quiet) this.opts.log(`teardown: ${step.name} done`);
    } catch (err) {
      this.opts.log(`teardown of ${step.name} failed: ${(err as Error).message}`);
    }
  }
}
