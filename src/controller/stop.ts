/**
 * Why a job stops before its entrypoint ends, as a value: a stop signal, or a joined node lost
 * while --continue-on-node-loss is off. The first reason wins and is kept; `stopped` resolves with
 * it, so every phase can race its own wait against it.
 */
import { PREEMPT_WARNING, STOP_SIGNALS, type SignalSource, type StopSignal } from '../proc/signals.js';
import { Latch } from '../core/latch.js';
import type { TeardownStack } from '../proc/teardown.js';

/** A signal to the controller, or to a node's agent (`node`); a lost node; Slurm's warning. */
export type StopReason =
  | { kind: 'signal'; signal: StopSignal; node?: string }
  | { kind: 'node-lost'; node: string; reason: string; log: string }
  /** Slurm's USR2 before the time limit or a preemption: the entrypoint is told and given its grace. */
  | { kind: 'preempt'; atMs: number };

export class StopRequest extends Latch<StopReason> {
  readonly stopped = this.promise;

  get reason(): StopReason | undefined {
    return this.value;
  }

  request(r: StopReason): void {
    this.settle(r);
  }
}

/**
 * The first stop signal asks for a stop (teardown follows); a second one, usually during teardown,
 * hurries it: everything still running is KILLed at once. The handlers stay until teardown's
 * last step, so a signal at any point of the job is answered.
 */
export function stopOnSignals(
  source: SignalSource,
  stop: StopRequest,
  teardown: TeardownStack,
  log: (line: string) => void,
  now: () => number = Date.now,
): void {
  let received = 0;
  // the warning asks for an orderly stop; a stop signal after it still hurries teardown
  const onWarning = () => {
    log(
      `received ${PREEMPT_WARNING}: Slurm's warning (time limit near, or preemption)${stop.reason ? ', already stopping' : ': telling the entrypoint, then tearing down'}`,
    );
    received++;
    stop.request({ kind: 'preempt', atMs: now() });
  };
  source.on(PREEMPT_WARNING, onWarning);
  const handlers = STOP_SIGNALS.map((sig) => {
    const fn = () => {
      received++;
      log(`received ${sig}${received > 1 ? ' again: killing everything now' : ': tearing down'}`);
      if (received > 1) teardown.hurry();
      stop.request({ kind: 'signal', signal: sig });
    };
    source.on(sig, fn);
    return [sig, fn] as const;
  });
  teardown.push({
    name: 'signal handlers',
    quiet: true,
    run: async () => {
      for (const [sig, fn] of handlers) source.off(sig, fn);
      source.off(PREEMPT_WARNING, onWarning);
    },
  });
}
