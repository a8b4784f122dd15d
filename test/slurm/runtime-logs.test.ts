// Logs that survive on the real test cluster with the real Ray 2.60: at teardown every node's Ray
// session logs are copied into <job dir>/runtime-logs/<node>/, then its temp dir is removed, and
// `raysl logs <id> --node node3 --runtime` lists / prints them after the job is gone.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rayslJobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, raysl, rayslDone, submittedId, type Cli } from './raysl-cli.js';
import { activate, cleanUp, rayStartLine, tempDirOf, within } from './ray-helpers.js';

slurmConf();

describe('runtime logs kept at teardown (Slurm, real Ray)', () => {
  it("3 nodes: each node's session logs land in the job dir, temp dirs are gone, `raysl logs --node node3 --runtime` shows them", {
    timeout: 300_000,
  }, async () => {
    const jobRoot = newJobRoot('rtlogs');
    const script = join(jobRoot, 'hello.py');
    writeFileSync(
      script,
      'import ray\nray.init()\nprint("sum", sum(ray.get([ray.remote(lambda i: i).remote(i) for i in range(8)])), flush=True)\n',
    );
    const c: Cli = raysl(['submit', '-N', '3', '--job-dir', jobRoot, ...activate(), script, '--follow']);
    let jobId: string | undefined;
    try {
      jobId = await submittedId(c);
      const code = await within(c.exited, 240_000, `job ${jobId} to end`);
      expect(code, c.stderr()).toBe(0);
      expect(c.stdout()).toMatch(/^sum 28$/m);
      await waitForJobEnd(jobId);
      expect(rayslJobProcesses(jobId)).toEqual([]);

      for (const node of ['node1', 'node2', 'node3']) {
        const temp = tempDirOf(rayStartLine(jobRoot, jobId, node));
        expect(existsSync(temp), `${node}'s temp dir ${temp}`).toBe(false);
      }
      expect(existsSync(`/tmp/raysl-${jobId}`)).toBe(false);

      const all = await rayslDone(['logs', jobId, '--job-dir', jobRoot, '--runtime']);
      expect(all.code, all.stderr).toBe(0);
      for (const node of ['node1', 'node2', 'node3'])
        expect(all.stdout).toMatch(new RegExp(`^${node}\\s+\\d+\\s+session_\\S+/logs/raylet\\.out$`, 'm'));
      expect(all.stdout).toMatch(/^node1\s+\d+\s+session_\S+\/logs\/gcs_server\.out$/m);

      const n3 = await rayslDone(['logs', jobId, '--job-dir', jobRoot, '--node', 'node3', '--runtime']);
      expect(n3.code, n3.stderr).toBe(0);
      const lines = n3.stdout.trim().split('\n');
      expect(
        lines.every((l) => l.startsWith('node3 ')),
        n3.stdout,
      ).toBe(true);
      const rayletPath = /session_\S+\/logs\/raylet\.out/.exec(n3.stdout)![0];

      const raylet = await rayslDone([
        'logs',
        jobId,
        '--job-dir',
        jobRoot,
        '--node',
        'node3',
        '--runtime',
        'raylet.out',
      ]);
      expect(raylet.code, raylet.stderr).toBe(0);
      expect(raylet.stdout).toBe(readFileSync(join(jobRoot, jobId, 'runtime-logs', 'node3', rayletPath), 'utf8'));
      expect(raylet.stdout).toMatch(/\S/);
    } finally {
      await cleanUp([c], jobId ? [jobId] : []);
    }
  });
});
