/** Environment variables raysl sets for a job's processes, named once for every layer. */

/** The job's secret (the control server's bearer token). */
export const TOKEN_ENV = 'RAYSL_TOKEN';
/** A file holding the job's secret (the job dir's 0600 token file): read when RAYSL_TOKEN is unset (`raysl attach`). */
export const TOKEN_FILE_ENV = 'RAYSL_TOKEN_FILE';
/** host:port of the job's control server, for the entrypoint's client. */
export const ADDRESS_ENV = 'RAYSL_ADDRESS';
/** Set (to 1) for agents started by the local launcher: no cgroup holds the job's processes together. */
export const LOCAL_LAUNCHER_ENV = 'RAYSL_LOCAL_LAUNCHER';
/** The job's --join-timeout in seconds: how long an agent waits for the controller to answer it. */
export const JOIN_TIMEOUT_ENV = 'RAYSL_JOIN_TIMEOUT_SEC';
