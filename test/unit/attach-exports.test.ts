import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { attachment, exportLines, type Attachment } from '../../src/cli/commands/attach.js';
import { localFacts } from '../../src/cli/facts.js';
import type { LiveJob } from '../../src/cli/live-job.js';
import { jobPaths } from '../../src/core/jobdir.js';
import { planJob } from '../../src/core/plan.js';
import { buildSpec } from '../../src/core/spec.js';
import { initialStatus } from '../../src/core/status.js';

const odd = "/home/o'neil/my jobs/$HOME/`x`/42";
const a: Attachment = {
  jobId: '42',
  runtime: 'ray',
  head: 'node1',
  env: {
    RAYSL_ADDRESS: '10.0.0.1:30000',
    RAYSL_TOKEN_FILE: `${odd}/token`,
    RAYSL_TOKEN: undefined,
    RAY_ADDRESS: '10.0.0.1:30001',
    RAY_AUTH_TOKEN: undefined,
  },
  dashboard: { url: 'http://localhost:8265', localPort: 8265, tunnel: 'ssh -N -L 8265:10.0.0.1:30005 login1' },
};

describe('attach: export lines for eval', () => {
  it('quotes every value (a job dir with a quote, a space, $ and backticks survives eval as written) and unsets the rest', () => {
    const text = exportLines(a);
    expect(text).toContain('unset RAYSL_TOKEN\n');
    expect(text).toMatch(/^# {3}ssh -N -L 8265:10\.0\.0\.1:30005 login1$/m);
    const r = spawnSync(
      'bash',
      ['-c', `${text}\nprintf '%s|%s|%s' "$RAYSL_TOKEN_FILE" "$RAY_ADDRESS" "\${RAYSL_TOKEN-unset}"`],
      { encoding: 'utf8', env: { ...process.env, RAYSL_TOKEN: 'another-jobs' } },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${odd}/token|10.0.0.1:30001|unset`);
  });
});

describe('attach: what it exports for a client outside an entrypoint, and the dashboard of a local job (issue 16)', () => {
  const tools = {
    tsx: '/opt/raysl/node_modules/tsx/dist/cli.mjs',
    hook: 'file:///opt/raysl/dist/register-entry.mjs',
    node: '/usr/bin/node',
    cwd: '/home/u',
    version: '0.0.0-test',
  };
  const liveOf = (jobId: string): LiveJob => {
    const plan = planJob(
      buildSpec(null, [], { nodes: 2, runtime: 'ray' }, { cwd: tools.cwd }),
      localFacts(2, { cpus: 4, gpus: 0, memoryMb: 4096 }),
      tools,
    );
    const status = {
      ...initialStatus({
        jobId,
        runtime: 'ray',
        launcher: 'local',
        nodes: [{ name: 'node1', address: '127.0.1.1', role: 'head', log: '/j/a.log' }],
        minNodes: 1,
        startedAtMs: 0,
      }),
      portBlock: { base: 20000, size: plan.portLayout.size },
    };
    return {
      job: { jobId, root: '/j', paths: jobPaths('/j', jobId) },
      status,
      plan,
      address: '127.0.1.1:20000',
      tokenFile: `/j/${jobId}/token`,
      holds: true,
    };
  };

  it("NODE_OPTIONS loads raysl's resolver after the caller's own options, once", () => {
    const a = attachment(liveOf('42'), 'login1', {
      clientHook: 'file:///opt/raysl/dist/register-entry.mjs',
      nodeOptions: '--max-old-space-size=4096',
    });
    expect(a.env.NODE_OPTIONS).toBe('--max-old-space-size=4096 --import=file:///opt/raysl/dist/register-entry.mjs');
    const again = attachment(liveOf('42'), 'login1', {
      clientHook: 'file:///opt/raysl/dist/register-entry.mjs',
      nodeOptions: a.env.NODE_OPTIONS,
    });
    expect(again.env.NODE_OPTIONS).toBe(a.env.NODE_OPTIONS);
  });

  it('a local job: the dashboard is on this machine, no ssh tunnel; a Slurm job: the tunnel', () => {
    const local = attachment(liveOf('local-1-2'), 'login1');
    expect(local.dashboard?.tunnel).toBeUndefined();
    expect(local.dashboard?.url).toMatch(/^http:\/\/127\.0\.1\.1:\d+$/);
    expect(exportLines(local)).not.toMatch(/ssh/);
    expect(attachment(liveOf('42'), 'login1').dashboard?.tunnel).toMatch(/^ssh -N -L 8265:127\.0\.1\.1:\d+ login1$/);
  });
});
