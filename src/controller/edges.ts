/**
 * Everything the controller is handed from outside (STYLE.md principle 9): streams, clock, env,
 * the launcher, signals and the faults tests inject, so a whole job can run in-process.
 */
import type { SignalSource } from '../proc/signals.js';
import type { SatelliteSlurm } from './elastic.js';
import type { Launcher } from './launcher.js';

/**
 * Faults a test injects to reach a path a healthy machine never takes. Only the CLI edge fills
 * them in (src/cli/injected-faults.ts, the seam a test's preloaded module fills); production leaves them out.
 */
export interface ControllerFaults {
  /** The first port block's base, instead of the allocated one (the test holds a port of it). */
  firstPortBase?: number;
  /** Port blocks the probe phase tries before the job fails with exit 4 (default 8). */
  probeAttempts?: number;
}

export interface ControllerEdges {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  now: () => number;
  cwd: string;
  launcher: Launcher;
  /** argv that runs `raysl agent` on a node, e.g. [process.execPath, '/…/dist/raysl.mjs', 'agent']. */
  agentArgv: string[];
  signals?: SignalSource;
  /** TERM -> KILL grace for the entrypoint and agents (default 3000 ms). */
  graceMs?: number;
  /** Port blocks tried after a bind fails (default 8). */
  bindAttempts?: number;
  /** Under --min-nodes < -N: how long the probe phase waits for stragglers once min reported (default 1000 ms). */
  probeStraggleMs?: number;
  /** Called once the control server listens (tests use it to find the job). */
  onListening?: (info: { jobId: string; address: string; jobDir: string }) => void;
  faults?: ControllerFaults;
  /** file: URL of raysl's entry hook (dist/register-entry.mjs): `raysl exec` commands get it in NODE_OPTIONS, so `node client.mjs` finds 'raysl'. */
  clientHook?: string;
  /** sbatch/scancel/squeue for satellites (srun launcher only: `raysl grow` is refused under --local). */
  satellites?: SatelliteSlurm;
  /** `scontrol requeue <jobid>` (srun launcher only; `--requeue` under --local has nothing to requeue). */
  requeue?: (jobId: string) => Promise<void>;
}
