import { describe, expect, it } from 'vitest';
import { RAY_CLUSTER_DEFAULTS, withRayClusterDefaults } from '../../src/runtimes/ray/cluster-env.js';
import { parseRayVersion, rayFeatures } from '../../src/runtimes/ray/version.js';

describe('RAY_* defaults for the daemons: given unless the job sets them', () => {
  it('adds RAY_worker_register_timeout_seconds=300 to an environment without it, and keeps the rest', () => {
    const env = withRayClusterDefaults({ PATH: '/bin' });
    expect(env['RAY_worker_register_timeout_seconds']).toBe('300');
    expect(env['PATH']).toBe('/bin');
  });

  it("keeps the job's own value (--env), and fills an empty one", () => {
    expect(
      withRayClusterDefaults({ RAY_worker_register_timeout_seconds: '45' })['RAY_worker_register_timeout_seconds'],
    ).toBe('45');
    expect(
      withRayClusterDefaults({ RAY_worker_register_timeout_seconds: '' })['RAY_worker_register_timeout_seconds'],
    ).toBe('300');
  });

  it('every default names a RAY_ variable, its source and its reason', () => {
    for (const s of RAY_CLUSTER_DEFAULTS) {
      expect(s.name).toMatch(/^RAY_[A-Za-z_]+$/);
      expect(s.source).toMatch(/\.(h|cc|py)\b/);
      expect(s.why.length).toBeGreaterThan(40);
    }
  });
});

describe('rayFeatures().rayBoot: the worker boot script only for the Ray whose source it was read against', () => {
  it.each([
    ['2.60.0', true],
    ['2.60.3', true],
    ['2.59.1', false],
    ['2.61.0', false],
    ['3.0.0', false],
  ])('Ray %s -> %s', (v, want) => {
    expect(rayFeatures(parseRayVersion(`ray, version ${v}`)).rayBoot).toBe(want);
  });
});
