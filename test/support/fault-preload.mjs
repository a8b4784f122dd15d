// Test-only: preloaded into every raysl process of a job (`node --import`, through NODE_OPTIONS:
// see fault-env.ts), it turns the test switches below into the faults the product's seam takes
// (src/cli/injected-faults.ts, InjectedFaults). The product never reads these variables.
//   RAYSL_TEST_FIRST_PORT_BASE=<n>  the controller's first port block starts at n (the test holds a port of it)
//   RAYSL_TEST_PROBE_ATTEMPTS=<n>   port blocks the probe phase tries before exit 4
//   RAYSL_TEST_GRACE_MS=<n>         the TERM -> KILL grace
//   RAYSL_TEST_SILENT_AGENT=<nodes> these agents are welcomed, then never report a probe (comma-separated)
//   RAYSL_TEST_FAIL_AGENT=<nodes>   these agents probe, then never bring their runtime up
// A value that is not a whole number is ignored.

/** @param {string | undefined} v */
const whole = (v) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
/** @param {string | undefined} v */
const names = (v) => (v ?? '').split(',').filter((n) => n !== '');

/** @param {NodeJS.ProcessEnv} env @returns {import('../../src/cli/injected-faults.js').InjectedFaults} */
export function faultsFromEnv(env) {
  const firstPortBase = whole(env.RAYSL_TEST_FIRST_PORT_BASE);
  const probeAttempts = whole(env.RAYSL_TEST_PROBE_ATTEMPTS);
  const graceMs = whole(env.RAYSL_TEST_GRACE_MS);
  /** @type {Record<string, { silent?: true; neverJoin?: true }>} */
  const agents = {};
  for (const n of names(env.RAYSL_TEST_SILENT_AGENT)) agents[n] = { ...agents[n], silent: true };
  for (const n of names(env.RAYSL_TEST_FAIL_AGENT)) agents[n] = { ...agents[n], neverJoin: true };
  const controller = {
    ...(firstPortBase !== undefined ? { firstPortBase } : {}),
    ...(probeAttempts !== undefined ? { probeAttempts } : {}),
  };
  return {
    ...(Object.keys(controller).length > 0 ? { controller } : {}),
    ...(graceMs !== undefined ? { graceMs } : {}),
    ...(Object.keys(agents).length > 0 ? { agents } : {}),
  };
}

globalThis[Symbol.for('raysl.injectedFaults')] = faultsFromEnv(process.env);
