/**
 * The one place where test-only environment variables become injected faults. They are honoured
 * only with RAYSL_TEST_HOOKS=1 (never set in production); each names the nodes it applies to,
 * comma-separated.
 */
import type { AgentFaults } from '../agent/agent.js';

/** RAYSL_TEST_SILENT_AGENT -> silent, RAYSL_TEST_FAIL_AGENT -> neverJoin, for this node only. */
export function agentFaultsFromEnv(env: NodeJS.ProcessEnv, node: string): AgentFaults {
  if (env.RAYSL_TEST_HOOKS !== '1') return {};
  const names = (v: string | undefined) => (v ?? '').split(',').includes(node);
  return {
    ...(names(env.RAYSL_TEST_SILENT_AGENT) ? { silent: true } : {}),
    ...(names(env.RAYSL_TEST_FAIL_AGENT) ? { neverJoin: true } : {}),
  };
}
