import { describe, expect, it } from 'vitest';
import { planJob, type PlanTools } from '../../src/core/plan.js';
import { buildSpec } from '../../src/core/spec.js';
import type { ClusterFacts } from '../../src/core/types.js';
import { renderSbatch } from '../../src/render/sbatch.js';

const tools: PlanTools = {
  tsx: '/opt/raysl/tsx/cli.mjs',
  hook: 'file:///opt/raysl/dist/register-entry.mjs',
  node: '/usr/bin/node',
  cwd: '/home/u/proj',
  version: '0.0.0-test',
};
const none: ClusterFacts = { source: 'none', nodes: [], ephemeralPortRange: [32768, 60999] };

describe('an entrypoint-less plan (raysl up)', () => {
  it('has no entrypoint, the builtin runtime under auto (and says why), job name raysl-up', () => {
    const p = planJob(buildSpec(null, [], { nodes: 4, time: '8:00:00' }, { cwd: tools.cwd }), none, tools);
    expect(p.entrypoint).toBeNull();
    expect(p.runtime).toBe('builtin');
    expect(p.runtimeReason).toBe('auto: no entrypoint (raysl up) -> builtin; pass --runtime ray for Ray');
    expect(p.jobName).toBe('raysl-up');
    expect(p.sbatch).toContainEqual(['--time', '8:00:00']);
  });

  it('takes --runtime ray as asked', () => {
    expect(planJob(buildSpec(null, [], { nodes: 2, runtime: 'ray' }, { cwd: tools.cwd }), none, tools).runtime).toBe(
      'ray',
    );
  });

  it('renders a script that says there is no entrypoint and carries the null through the plan', () => {
    const p = planJob(buildSpec(null, [], { nodes: 2 }, { cwd: tools.cwd }), none, tools);
    const script = renderSbatch(p, { node: '/usr/bin/node', raysl: '/opt/raysl/dist/raysl.mjs' });
    expect(script).toMatch(
      /^# entrypoint: +none \(raysl up\): the cluster holds for raysl exec until raysl down or the time limit$/m,
    );
    expect(script).toContain('"entrypoint":null');
  });
});
