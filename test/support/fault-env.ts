// The environment that injects faults into the raysl processes a test starts: NODE_OPTIONS preloads
// fault-preload.mjs (inherited by the controller and agents, through sbatch and srun too), and the
// RAYSL_TEST_* switches say which faults (listed in fault-preload.mjs).
const PRELOAD = new URL('./fault-preload.mjs', import.meta.url).href;

/** `switches` plus a NODE_OPTIONS that preloads the fault module (after the caller's own options). */
export function withFaults(switches: Readonly<Record<string, string>>): Record<string, string> {
  const before = process.env.NODE_OPTIONS;
  return { ...switches, NODE_OPTIONS: `${before ? `${before} ` : ''}--import=${PRELOAD}` };
}
