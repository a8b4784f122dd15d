import { describe, expect, it } from 'vitest';
import { agentFaultsFromEnv } from '../../src/cli/test-faults.js';

describe('agent faults from the test env', () => {
  it.each<[NodeJS.ProcessEnv, string, object]>([
    [{ RAYSL_TEST_HOOKS: '1', RAYSL_TEST_SILENT_AGENT: 'node4' }, 'node4', { silent: true }],
    [{ RAYSL_TEST_HOOKS: '1', RAYSL_TEST_FAIL_AGENT: 'node2,node3' }, 'node3', { neverJoin: true }],
    [{ RAYSL_TEST_HOOKS: '1', RAYSL_TEST_FAIL_AGENT: 'node2,node3' }, 'node1', {}],
    [{ RAYSL_TEST_HOOKS: '1', RAYSL_TEST_FAIL_AGENT: 'node10' }, 'node1', {}],
    // without the gate, a stray variable in a user's environment does nothing
    [{ RAYSL_TEST_SILENT_AGENT: 'node4', RAYSL_TEST_FAIL_AGENT: 'node4' }, 'node4', {}],
    [{ RAYSL_TEST_HOOKS: 'yes', RAYSL_TEST_FAIL_AGENT: 'node4' }, 'node4', {}],
  ])('%j on %s -> %j', (env, node, faults) => expect(agentFaultsFromEnv(env, node)).toEqual(faults));
});
