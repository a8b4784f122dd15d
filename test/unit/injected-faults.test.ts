// The fault seam as the built CLI's processes get it: node preloads test/support/fault-preload.mjs
// through NODE_OPTIONS (withFaults), the preload reads the RAYSL_TEST_* switches, and the product's
// injectedFaults() / controllerFaults() see the result. Without the preload: nothing, whatever the env says.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { withFaults } from '../support/fault-env.js';

/** What a fresh node process sees in the seam's global with this environment. */
function seen(env: Record<string, string>): unknown {
  const out = execFileSync(
    process.execPath,
    ['-e', "process.stdout.write(JSON.stringify(globalThis[Symbol.for('raysl.injectedFaults')] ?? null))"],
    {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
    },
  );
  return JSON.parse(out);
}

describe('injected faults (test preload -> product seam)', () => {
  it.each([
    ['nothing set', {}, {}],
    [
      'controller faults',
      { RAYSL_TEST_FIRST_PORT_BASE: '31000', RAYSL_TEST_PROBE_ATTEMPTS: '1' },
      { controller: { firstPortBase: 31000, probeAttempts: 1 } },
    ],
    ['only the ones set', { RAYSL_TEST_PROBE_ATTEMPTS: '2' }, { controller: { probeAttempts: 2 } }],
    [
      'not a whole number: ignored',
      { RAYSL_TEST_FIRST_PORT_BASE: '31000x', RAYSL_TEST_PROBE_ATTEMPTS: '-1', RAYSL_TEST_GRACE_MS: '3e3' },
      {},
    ],
    ['the grace', { RAYSL_TEST_GRACE_MS: '300' }, { graceMs: 300 }],
    [
      'agents by node name',
      { RAYSL_TEST_SILENT_AGENT: 'node4', RAYSL_TEST_FAIL_AGENT: 'node2,node4' },
      { agents: { node4: { silent: true, neverJoin: true }, node2: { neverJoin: true } } },
    ],
  ])('%s', (_, switches, faults) => {
    expect(seen(withFaults(switches))).toEqual(faults);
  });

  it('the switches alone inject nothing: the product does not read them', () => {
    expect(seen({ RAYSL_TEST_FAIL_AGENT: 'node2', RAYSL_TEST_GRACE_MS: '300' })).toBeNull();
  });

  it("the product's seam reads what the preload set", async () => {
    const { controllerFaults, injectedFaults } = await import('../../src/cli/injected-faults.js');
    const key = Symbol.for('raysl.injectedFaults');
    const g = globalThis as Record<symbol, unknown>;
    expect(injectedFaults()).toEqual({});
    expect(controllerFaults()).toEqual({});
    try {
      g[key] = { controller: { probeAttempts: 1 }, graceMs: 300, agents: { node2: { silent: true } } };
      expect(controllerFaults()).toEqual({ faults: { probeAttempts: 1 }, graceMs: 300 });
      expect(injectedFaults().agents?.node2).toEqual({ silent: true });
    } finally {
      delete g[key];
    }
  });
});
