/** The signals that stop a controller or an agent, and where they come from (injectable for tests). */
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGUSR1';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGTERM', 'SIGINT', 'SIGUSR1'];

/** Where signals come from: process by default, an EventEmitter in tests. */
export interface SignalSource {
  on(sig: StopSignal, fn: () => void): unknown;
  off(sig: StopSignal, fn: () => void): unknown;
}
