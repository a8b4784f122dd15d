/** The signals that stop a controller or an agent, and where they come from (injectable for tests). */
// HUP: the terminal of `raysl up --local &` closed; stopping in order as on TERM, not dying at once
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGUSR1' | 'SIGHUP';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGHUP'];

/** Slurm's warning before the time limit or a preemption (`--signal=B:USR2@<sec>`; USR1 belongs to NCCL). */
export const PREEMPT_WARNING = 'SIGUSR2' as const;

/** Where signals come from: `process` itself by default (it is one, no cast needed), an EventEmitter in tests. */
export interface SignalSource {
  on(sig: StopSignal | typeof PREEMPT_WARNING, fn: () => void): unknown;
  off(sig: StopSignal | typeof PREEMPT_WARNING, fn: () => void): unknown;
}
