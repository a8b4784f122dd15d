/** Environment variables raysl sets for a job's processes, named once for every layer. */

/** The job's secret (the control server's bearer token). */
export const TOKEN_ENV = 'RAYSL_TOKEN';
/** A file holding the job's secret (the job dir's 0600 token file): read when RAYSL_TOKEN is unset (`raysl attach`). */
export const TOKEN_FILE_ENV = 'RAYSL_TOKEN_FILE';
/** host:port of the job's control server, for the entrypoint's client. */
export const ADDRESS_ENV = 'RAYSL_ADDRESS';
/** Set (to 1) for agents started by the local launcher: no cgroup holds the job's processes together. */
export const LOCAL_LAUNCHER_ENV = 'RAYSL_LOCAL_LAUNCHER';

/** A process of a `raysl run --local`/`up --local` job: hints name no Slurm-only remedy (--sbatch-arg, --setup of the batch script). */
export function underLocalLauncher(env: NodeJS.ProcessEnv): boolean {
  return env[LOCAL_LAUNCHER_ENV] === '1';
}
/** The job's --join-timeout in seconds: how long an agent waits for the controller to answer it. */
export const JOIN_TIMEOUT_ENV = 'RAYSL_JOIN_TIMEOUT_SEC';
