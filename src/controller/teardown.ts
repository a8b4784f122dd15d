/**
 * The teardown stack. Each phase pushes a step for what it starts, as it starts it, so teardown
 * undoes the job in reverse start order by construction (STYLE.md principle 8). Each step is
 * bounded and logged ("teardown: X done" lines: tests and users read them); a step that fails or
 * overruns its bound is logged and the next one runs. `hurry()` (a second stop signal) tells every
 * step not yet finished, the running one included, to KILL now instead of waiting out its grace.
 */
import { within } from '../proc/terminate.js';

export interface TeardownStep {
  /** As the log names it: "teardown: <name> done". */
  name: string;
  run: () => Promise<void>;
  /** Skip the grace and KILL at once; may come before the step runs, or while it runs. */
  hurry?: () => void;
  /** Longest teardown waits for the step (its own TERM -> grace -> KILL should end well before). */
  boundMs?: number;
  /** Bookkeeping nobody needs to read about (unhooking the signal handlers): not logged. */
  quiet?: boolean;
}

export class TeardownStack {
  private readonly steps: TeardownStep[] = [];
  private readonly finished = new Set<TeardownStep>();
  private hurried = false;

  constructor(
    private readonly log: (line: string) => void,
    private readonly defaultBoundMs: number,
  ) {}

  push(step: TeardownStep): void {
    this.steps.push(step);
    // started after a second signal: the user asked for everything to die at once, this too
    if (this.hurried) step.hurry?.();
  }

  hurry(): void {
    this.hurried = true;
    for (const step of this.steps) if (!this.finished.has(step)) step.hurry?.();
  }

  /** Runs every step, last pushed first; never throws. */
  async unwind(): Promise<void> {
    for (const step of [...this.steps].reverse()) {
      await this.runStep(step);
      this.finished.add(step);
    }
  }

  private async runStep(step: TeardownStep): Promise<void> {
    const bound = step.boundMs ?? this.defaultBoundMs;
    try {
      if ((await within(step.run(), bound)) === 'timeout') {
        this.log(`teardown of ${step.name} failed: not done after ${(bound / 1000).toFixed(1)}s, moving on`);
        return;
      }
      if (!step.quiet) this.log(`teardown: ${step.name} done`);
    } catch (err) {
      this.log(`teardown of ${step.name} failed: ${(err as Error).message}`);
    }
  }
}
