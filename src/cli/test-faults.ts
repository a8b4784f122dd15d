/**
 * The one place where test-only environment variables become injected faults, for the controller
 * and for the agent. They are honoured only with RAYSL_TEST_HOOKS=1 (never set in production);
 * end-to-end tests set them on the CLI they start; the controller and agent never read them.
 */
import type { AgentFaults } from '../agent/agent.js';
import type { ControllerFaults } from '../controller/edges.js';

/** RAYSL_TEST_FIRST_PORT_BASE and RAYSL_TEST_PROBE_ATTEMPTS. */
export function testFaults(env: NodeJS.ProcessEnv): ControllerFaults {
  if (env.RAYSL_TEST_HOOKS !== '1') return {};
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
  const firstPortBase = num(env.RAYSL_TEST_FIRST_PORT_BASE);
  const probeAttempts = num(env.RAYSL_TEST_PROBE_ATTEMPTS);
  return { ...(firstPortBase !== undefined ? { firstPortBase } : {}), ...(probeAttempts !== undefined ? { probeAttempts } : {}) };
}

/** RAYSL_TEST_GRACE_MS: the TERM -> KILL grace, so a test can tell a KILL that came early (a second signal) from one at the grace. */
export function testGraceMs(env: NodeJS.ProcessEnv): { graceMs?: number } {
  if (env.RAYSL_TEST_HOOKS !== '1' || env.RAYSL_TEST_GRACE_MS === undefined || !/^\d+$/.test(env.RAYSL_TEST_GRACE_MS)) return {};
  return { graceMs: Number(env.RAYSL_TEST_GRACE_MS) };
}

/** RAYSL_TEST_SILENT_AGENT -> silent, RAYSL_TEST_FAIL_AGENT -> neverJoin, for this node only (comma-separated names). */
export function agentFaultsFromEnv(env: NodeJS.ProcessEnv, node: string): AgentFaults {
  if (env.RAYSL_TEST_HOOKS !== '1') return {};
  const names = (v: string | undefined) => (v ?? '').split(',').includes(node);
  return {
    ...(names(env.RAYSL_TEST_SILENT_AGENT) ? { silent: true } : {}),
    ...(names(env.RAYSL_TEST_FAIL_AGENT) ? { neverJoin: true } : {}),
  };
}
