import { describe, expect, it } from 'vitest';
import { testFaults } from '../../src/cli/test-faults.js';

describe('testFaults (the env -> injected controller faults, at the CLI edge only)', () => {
  it.each([
    ['nothing without RAYSL_TEST_HOOKS=1', { RAYSL_TEST_FIRST_PORT_BASE: '31000', RAYSL_TEST_PROBE_ATTEMPTS: '1' }, {}],
    ['nothing with RAYSL_TEST_HOOKS=0', { RAYSL_TEST_HOOKS: '0', RAYSL_TEST_PROBE_ATTEMPTS: '1' }, {}],
    ['both when hooked', { RAYSL_TEST_HOOKS: '1', RAYSL_TEST_FIRST_PORT_BASE: '31000', RAYSL_TEST_PROBE_ATTEMPTS: '1' }, { firstPortBase: 31000, probeAttempts: 1 }],
    ['only the ones set', { RAYSL_TEST_HOOKS: '1', RAYSL_TEST_PROBE_ATTEMPTS: '2' }, { probeAttempts: 2 }],
    ['not a number: ignored', { RAYSL_TEST_HOOKS: '1', RAYSL_TEST_FIRST_PORT_BASE: '31000x', RAYSL_TEST_PROBE_ATTEMPTS: '-1' }, {}],
  ])('%s', (_what, env, faults) => {
    expect(testFaults(env)).toEqual(faults);
  });
});
