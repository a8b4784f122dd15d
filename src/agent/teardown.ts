/**
 * What the agent started, undone in reverse order by construction: each phase pushes the undo
 * step for what it starts at the moment it starts it. Every step is bounded, and a step that
 * throws or hangs never keeps the steps below it from running (nothing the agent started may
 * outlive it).
 */
import { within } from '../proc/terminate.js';

interface Step {
  what: string;
  undo: () => unknown;
}

export class TeardownStack {
  private readonly steps: Step[] = [];

  constructor(
    /** The longest one step may take (a TERM, grace, KILL sequence fits inside). */
    private readonly stepLimitMs: number,
    private readonly log: (line: string) => void,
  ) {}

  push(what: string, undo: () => unknown): void {
    this.steps.push({ what, undo });
  }

  /** Runs every step, last pushed first; a second call finds nothing left to do. */
  async run(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        const done = await within(Promise.resolve().then(step.undo), this.stepLimitMs);
        if (done === 'timeout') this.log(`teardown: stopping ${step.what} took over ${this.stepLimitMs} ms; going on`);
      } catch (err) {
        this.log(`teardown: stopping ${step.what} failed: ${(err as Error).message}`);
      }
    }
  }
}
