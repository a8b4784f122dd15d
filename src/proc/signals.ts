/** The signals that stop a controller or an agent, and where they come from (injectable for tests). */
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGUSR1';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGTERM', 'SIGINT', 'SIGUSR1'];

/** Slurm's warning before the time limit or a preemption (`--signal=B:USR2@<sec>`; USR1 belongs to NCCL). */
export const PREEMPT_WARNING = 'SIGUSR2' as const;

/** Where signals come from: process by default, an EventEmitter in tests. */
export interface SignalSource {
  on(sig: StopSignal | typeof PREEMPT_WARNING, fn: () => void): unknown;
  off(sig: StopSignal | typeof PREEMPT_WARNING, fn: () => void): unknown;
}
