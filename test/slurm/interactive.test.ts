// Interactive clusters on the Slurm test cluster: `raysl up -N 2 --wait` holds a real allocation;
// exec runs commands on its head three times in a row (codes 0, 3, 0; output; RAYSL_ADDRESS and
// both nodes seen); attach's exports, evaluated in bash on the login side, take a client to it;
// down ends it (exit 0, state succeeded) with no process of the job left on any node.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundle } from '../local/helpers.js';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, raysl, rayslDone, readJobStatus, root } from './raysl-cli.js';
import { until } from '../support/until.js';

slurmConf();

describe('raysl up / exec / attach / down on Slurm', () => {
  it('up -N 2, exec 0/3/0, attach + client, down: final state, nothing left', async () => {
    const jobRoot = newJobRoot('up');
    // no --wait: waiting until the cluster holds is up's default (issue 20)
    const up = await rayslDone(['up', '-N', '2', '--job-dir', jobRoot]);
    expect(up.code, up.stderr).toBe(0);
    const jobId = up.stdout.trim();
    expect(jobId).toMatch(/^\d+$/);
    expect(up.stderr).toContain(`raysl exec ${jobId} -- python3 job.py`);
    try {
      const s = readJobStatus(jobRoot, jobId)!;
      expect(s.state).toBe('running');
      expect(s.timeline.map((e) => e.phase)).toContain('holding');

      const script =
        'echo "addr=$RAYSL_ADDRESS host=$(hostname) nodes=$(grep -o "\\"name\\":\\"node[0-9]\\"" "$RAYSL_NODES_FILE" | sort -u | tr -d "\\"" | tr "\\n" " ")"; echo err-line >&2; exit "$1"';
      const codes: number[] = [];
      for (const code of ['0', '3', '0']) {
        const r = await rayslDone(['exec', jobId, '--job-dir', jobRoot, '--', 'bash', '-c', script, 'x', code]);
        codes.push(r.code);
        expect(r.stdout).toMatch(
          new RegExp(`^addr=${s.controller!.replaceAll('.', '\\.')} host=\\S+ nodes=name:node\\d name:node\\d $`, 'm'),
        );
        expect(r.stderr).toContain('err-line');
      }
      expect(codes).toEqual([0, 3, 0]);
      expect(
        readJobStatus(jobRoot, jobId)!
          .timeline.filter((e) => e.phase === 'exec-exited')
          .map((e) => e.code),
      ).toEqual([0, 3, 0]);

      const token = readFileSync(join(jobRoot, jobId, 'token'), 'utf8').trim();
      const a = await rayslDone(['attach', jobId, '--job-dir', jobRoot]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).not.toContain(token);
      const client = join(jobRoot, 'client.mjs');
      writeFileSync(
        client,
        `import { connect } from ${JSON.stringify(join(root, 'dist', 'client.mjs'))};\nconst c = await connect();\nconsole.log('nodes', (await c.nodes()).map((n) => n.name).sort().join(','));\nconst r = await c.run('node2', ['hostname']);\nconsole.log('ran', r.exitCode);\nc.close();\n`,
      );
      const attach = `${JSON.stringify(process.execPath)} ${JSON.stringify(bundle)} attach ${jobId} --job-dir ${JSON.stringify(jobRoot)}`;
      const r = spawnSync('bash', ['-c', `eval "$(${attach})" && node ${JSON.stringify(client)}`], {
        env: { ...process.env, SLURM_CONF: slurmConf(), NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('nodes node1,node2\nran 0\n');

      const down = await rayslDone(['down', jobId, '--job-dir', jobRoot, '--json']);
      expect(down.code, down.stderr).toBe(0);
      expect(JSON.parse(down.stdout)).toMatchObject({
        jobId,
        how: 'graceful',
        state: 'succeeded',
        exitCode: 0,
        kind: 'cluster',
      });
      await waitForJobEnd(jobId);
      expect(jobProcesses(jobId)).toEqual([]);
      const after = await rayslDone(['exec', jobId, '--job-dir', jobRoot, '--', 'true']);
      expect(after.code).toBe(2);
      expect(after.stderr).toMatch(/is over[\s\S]*hint:/);
    } finally {
      if (readJobStatus(jobRoot, jobId)?.state === 'running')
        spawnSync('scancel', [jobId], { env: { ...process.env, SLURM_CONF: slurmConf() } });
    }
  }, 240_000);

  it('exec on a job that runs its own entrypoint is exit 2 with a hint', async () => {
    const jobRoot = newJobRoot('exec-notup');
    const hold = join(jobRoot, 'hold.sh');
    writeFileSync(hold, '#!/bin/bash\necho holding; sleep 120\n', { mode: 0o755 });
    const c = raysl(['submit', '-N', '1', '--job-dir', jobRoot, hold]);
    const jobId = (await c.waitFor(/^(\d+)$/m, 30_000, 'stdout'))[1]!;
    try {
      await until(
        'the job to start its entrypoint',
        () => readJobStatus(jobRoot, jobId)?.timeline.some((e) => e.phase === 'entrypoint-started') || undefined,
        60_000,
        { intervalMs: 100, maxIntervalMs: 1000 },
      );
      const r = await rayslDone(['exec', jobId, '--job-dir', jobRoot, '--', 'true']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /runs its own entrypoint: exec needs a cluster started by raysl up\n {2}hint: raysl up -N 1/,
      );
      const down = await rayslDone(['down', jobId, '--job-dir', jobRoot]);
      expect(down.code, down.stderr).toBe(0);
      expect(down.stderr).toMatch(/down cancels it, as raysl cancel does/);
      await waitForJobEnd(jobId);
      expect(jobProcesses(jobId)).toEqual([]);
    } finally {
      spawnSync('scancel', [jobId], { env: { ...process.env, SLURM_CONF: slurmConf() } });
    }
  }, 180_000);
});
