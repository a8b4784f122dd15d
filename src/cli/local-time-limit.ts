/**
 * `-t/--time` under `run --local` / `up --local`: what Slurm does at a job's limit, done by a
 * clock. With a warning planned (`--preempt-grace`, default with --time) the controller gets
 * SIGUSR2 that long before the limit, exactly as `sbatch --signal=B:USR2@<sec>` delivers it; at
 * the limit it gets SIGTERM, as Slurm sends it to the batch step. The signals come through the
 * controller's SignalSource, so the ending is the one a Slurm job gets (preempted, exit 6; or
 * cancelled at the limit).
 */
import { EventEmitter } from 'node:events';
import { PREEMPT_WARNING, type SignalSource, type StopSignal } from '../proc/signals.js';
import type { Plan } from '../core/types.js';

type Sig = StopSignal | typeof PREEMPT_WARNING;

export interface TimedSignals extends SignalSource {
  /** Clears the timers (the job ended before its limit). */
  dispose(): void;
}

// setTimeout fires at once past 2^31-1 ms (24.8 days); --time goes up to a year
const MAX_TIMER_MS = 2 ** 31 - 1;

/** fn after ms, in steps a timer can hold; returns the cancel. */
function after(ms: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const step = (left: number) => {
    timer = setTimeout(() => (left > MAX_TIMER_MS ? step(left - MAX_TIMER_MS) : fn()), Math.min(left, MAX_TIMER_MS));
  };
  step(ms);
  return () => clearTimeout(timer);
}

/** `base`'s signals, plus the warning and the TERM of a time limit of `limitSec` counted from now. */
export function withTimeLimit(
  base: SignalSource,
  limitSec: number,
  preempt: Plan['preempt'],
  say: (line: string) => void,
): TimedSignals {
  const clock = new EventEmitter();
  const cancels: Array<() => void> = [];
  if (Number.isFinite(limitSec)) {
    if (preempt !== undefined) {
      const warnAt = Math.max(0, limitSec - preempt.warnSec);
      cancels.push(
        after(
          warnAt * 1000,
          () => (
            say(`time limit in ${limitSec - warnAt} s: the warning Slurm would send (${PREEMPT_WARNING})`),
            clock.emit(PREEMPT_WARNING)
          ),
        ),
      );
    }
    cancels.push(
      after(
        limitSec * 1000,
        () => (say(`time limit (--time, ${limitSec} s) reached: SIGTERM, as Slurm sends it`), clock.emit('SIGTERM')),
      ),
    );
  }
  return {
    on(sig: Sig, fn: () => void) {
      base.on(sig, fn);
      clock.on(sig, fn);
      return this;
    },
    off(sig: Sig, fn: () => void) {
      base.off(sig, fn);
      clock.off(sig, fn);
      return this;
    },
    dispose() {
      for (const cancel of cancels) cancel();
    },
  };
}
