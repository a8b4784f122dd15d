/**
 * Logs that survive, under run --local with the real Ray of the project's venv: at teardown each
 * node's Ray session logs are copied into <job dir>/runtime-logs/<node>/ and then the node's temp
 * dir is removed; `raysl logs <id> --runtime` lists them and `--node n --runtime raylet.out` prints
 * one. A builtin job kept none and says where its output is.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { spawnCli } from '../support/cli-process.js';
import { bundle, exitWithin, fixtures, jobGone, root, runLocal } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

const rayEnv = (): NodeJS.ProcessEnv => ({
  RAYSL_RAY_BIN: inject('rayBin'),
  PATH: `${inject('rayVenvBin')}:${process.env.PATH ?? ''}`,
});

async function logs(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = spawnCli([bundle, 'logs', ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
    defaultStream: 'stdout',
    defaultMs: 30_000,
  });
  const code = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

describe('runtime logs kept at teardown (run --local, real Ray)', () => {
  it("copies each node's Ray session logs into the job dir, removes the temp dir, and `raysl logs --runtime` shows them", async () => {
    const dir = tempDir('raysl-rtlogs-');
    const script = join(dir, 'hello.py');
    writeFileSync(
      script,
      'import ray\nray.init()\nprint("sum", ray.get(ray.remote(lambda: 41 + 1).remote()), flush=True)\n',
    );
    const job = runLocal(['-N', '2', script], { env: rayEnv() });
    const { code } = await exitWithin(job, 150_000);
    expect(code, job.stderr() + job.stdout()).toBe(0);
    expect(job.stdout()).toMatch(/^sum 42$/m);
    const jobId = job.status().jobId;
    expect(await jobGone(jobId, 15_000)).toEqual([]);

    for (const node of ['node1', 'node2']) {
      const agentLog = readFileSync(join(job.jobDir(), `agent-${node}.log`), 'utf8');
      const tempDir = /--temp-dir[= ](\S+)/.exec(agentLog)?.[1];
      expect(tempDir, agentLog).toBeDefined();
      expect(existsSync(tempDir!), `${node}'s temp dir ${tempDir} is gone`).toBe(false);
      const kept = join(job.jobDir(), 'runtime-logs', node);
      const session = readdirSync(kept).find((d) => d.startsWith('session_'))!;
      expect(readFileSync(join(kept, session, 'logs', 'raylet.out'), 'utf8')).toMatch(/\S/);
    }

    const all = await logs([jobId, '--job-dir', job.jobRoot, '--runtime']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^node1\s+\d+\s+session_\S+\/logs\/gcs_server\.out$/m);
    expect(all.stdout).toMatch(/^node2\s+\d+\s+session_\S+\/logs\/raylet\.out$/m);

    const listed = await logs([jobId, '--job-dir', job.jobRoot, '--node', 'node2', '--runtime', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const files = (JSON.parse(listed.stdout) as { files: Array<{ node: string; file: string; bytes: number }> }).files;
    expect(files.length).toBeGreaterThan(1);
    expect(new Set(files.map((f) => f.node))).toEqual(new Set(['node2']));

    const raylet = await logs([jobId, '--job-dir', job.jobRoot, '--node', 'node2', '--runtime', 'raylet.out']);
    expect(raylet.code, raylet.stderr).toBe(0);
    const keptRaylet = files.find((f) => f.file.endsWith('/raylet.out'))!;
    expect(raylet.stdout).toBe(readFileSync(join(job.jobDir(), 'runtime-logs', 'node2', keptRaylet.file), 'utf8'));

    const missing = await logs([jobId, '--job-dir', job.jobRoot, '--node', 'node2', '--runtime', 'nosuch.log']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /no kept runtime log "nosuch\.log"[\s\S]*hint: list them with `raysl logs \S+ --node node2 --runtime`/,
    );
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('a builtin job kept no runtime logs: exit 2 saying where its output is', async () => {
    const job = runLocal(['-N', '2', join(fixtures, 'hello.sh')]);
    expect((await exitWithin(job, 60_000)).code, job.stderr()).toBe(0);
    const r = await logs([job.status().jobId, '--job-dir', job.jobRoot, '--runtime']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kept no runtime logs[\s\S]*hint: .*the builtin runtime has none of its own/);
    const follow = await logs([job.status().jobId, '--job-dir', job.jobRoot, '--runtime', '--follow']);
    expect(follow.code).toBe(2);
    expect(follow.stderr).toMatch(/--runtime with --follow/);
  }, 90_000);
});
