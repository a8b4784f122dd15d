// An interactive Ray cluster on the test cluster with the real Ray 2.60: `raysl up --runtime ray`
// holds it; `raysl exec` runs a Ray driver on the head against it three times (RAY_ADDRESS set as
// for an entrypoint, both nodes alive); attach's exports reach Ray's Jobs API from the login side
// with the token file (401 without it); down leaves nothing on any node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rayslJobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, rayslDone, readJobStatus } from './raysl-cli.js';
import { activate, cleanUp, rayPortsOf } from './ray-helpers.js';

slurmConf();

describe('raysl up --runtime ray (real Ray 2.60)', () => {
  it('exec runs Ray drivers on the held cluster; attach reaches its Jobs API with the token file; down leaves nothing', {
    timeout: 300_000,
  }, async () => {
    const jobRoot = newJobRoot('rayup');
    const up = await rayslDone(['up', '-N', '2', '--runtime', 'ray', '--wait', '--job-dir', jobRoot, ...activate()]);
    expect(up.code, up.stderr).toBe(0);
    const jobId = up.stdout.trim();
    try {
      const driver =
        'import os, sys, ray; ray.init(); alive = [n for n in ray.nodes() if n["Alive"]]; print("ray", os.environ["RAY_ADDRESS"], len(alive), flush=True); sys.exit(int(sys.argv[1]))';
      const codes: number[] = [];
      for (const code of ['0', '3', '0']) {
        const r = await rayslDone(['exec', jobId, '--job-dir', jobRoot, '--', 'python3', '-c', driver, code]);
        codes.push(r.code);
        expect(r.stdout, r.stderr).toMatch(/^ray \d+\.\d+\.\d+\.\d+:\d+ 2$/m);
      }
      expect(codes).toEqual([0, 3, 0]);

      const a = await rayslDone(['attach', jobId, '--json', '--job-dir', jobRoot]);
      expect(a.code, a.stderr).toBe(0);
      const att = JSON.parse(a.stdout) as { env: Record<string, string>; dashboard: { tunnel: string } };
      const { ports } = rayPortsOf(jobRoot, jobId);
      const head = readJobStatus(jobRoot, jobId)!.nodes.find((n) => n.role === 'head')!.address;
      expect(att.env.RAY_ADDRESS).toBe(`${head}:${ports.gcs}`);
      expect(att.env.RAY_AUTH_TOKEN_PATH).toBe(join(jobRoot, jobId, 'token'));
      expect(att.dashboard.tunnel).toMatch(
        new RegExp(`^ssh -N -L 8265:${head.replaceAll('.', '\\.')}:${ports.dashboard} \\S+$`),
      );
      const token = readFileSync(att.env.RAY_AUTH_TOKEN_PATH!, 'utf8').trim();
      expect(a.stdout).not.toContain(token);
      const jobsApi = async (auth: boolean) =>
        (
          await fetch(`${att.env.RAY_API_SERVER_ADDRESS}/api/jobs/`, {
            headers: auth ? { Authorization: `Bearer ${token}` } : {},
            signal: AbortSignal.timeout(20_000),
          })
        ).status;
      expect(await jobsApi(true)).toBe(200);
      expect(await jobsApi(false)).toBe(401);

      const down = await rayslDone(['down', jobId, '--job-dir', jobRoot, '--json']);
      expect(down.code, down.stderr).toBe(0);
      expect(JSON.parse(down.stdout)).toMatchObject({ state: 'succeeded', exitCode: 0 });
      await waitForJobEnd(jobId);
      expect(rayslJobProcesses(jobId)).toEqual([]);
    } finally {
      await cleanUp([], [jobId]);
    }
  });
});
