/**
 * Why a job stops before its entrypoint ends, as a value: a stop signal, or a joined node lost
 * while --continue-on-node-loss is off. The first reason wins and is kept; `stopped` resolves with
 * it, so every phase can race its own wait against it.
 */
import { STOP_SIGNALS, type SignalSource, type StopSignal } from '../proc/signals.js';
import { Latch } from '../core/latch.js';
import type { TeardownStack } from './teardown.js';

/** A signal to the controller, or to a node's agent (`node`). */
export type StopReason = { kind: 'signal'; signal: StopSignal; node?: string } | { kind: 'node-lost'; node: string; reason: string; log: string };

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
export function stopOnSignals(source: SignalSource, stop: StopRequest, teardown: TeardownStack, log: (line: string) => void): void {
  let received = 0;
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
    },
  });
}
