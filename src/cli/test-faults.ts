/**
 * The one place the environment turns into injected controller faults: RAYSL_TEST_FIRST_PORT_BASE
 * and RAYSL_TEST_PROBE_ATTEMPTS, honoured only with RAYSL_TEST_HOOKS=1 (never set in production).
 * End-to-end tests set them on the CLI they start; the controller itself never reads them.
 */
import type { ControllerFaults } from '../controller/edges.js';

export function testFaults(env: NodeJS.ProcessEnv): ControllerFaults {
  if (env.RAYSL_TEST_HOOKS !== '1') return {};
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
  const firstPortBase = num(env.RAYSL_TEST_FIRST_PORT_BASE);
  const probeAttempts = num(env.RAYSL_TEST_PROBE_ATTEMPTS);
  return { ...(firstPortBase !== undefined ? { firstPortBase } : {}), ...(probeAttempts !== undefined ? { probeAttempts } : {}) };
}
