/**
 * Interactive clusters on the local launcher: `raysl up --local` holds a real 2-node cluster; exec
 * runs commands on it (codes and output come back, several in a row), attach's exports evaluated
 * in bash reach it with the client, down ends it with exit 0 and nothing left behind.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/core/status.js';
import { spawnCli, type CliProcess } from '../support/cli-process.js';
import { notYetOnThrow, until } from '../support/until.js';
import { allGone, bundle, ensureBuilt, jobGone, root } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

beforeAll(() => ensureBuilt(), 120_000);

const jobRoot = tempDir('raysl-up-');
const env = { ...process.env, NO_COLOR: '1', RAYSL_TOKEN: 'a-token-of-another-job' };
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bundle, ...args], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });

let up: CliProcess;
let jobId: string;
const status = (): JobStatus => JSON.parse(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8')) as JobStatus;

async function holding(ms: number): Promise<void> {
  const held = notYetOnThrow(() => status().timeline.some((e) => e.phase === 'holding') || undefined); // status.json not written yet
  await until(
    () => `the cluster to hold; stderr:\n${up.stderr()}`,
    () => {
      if (held()) return true;
      if (up.child.exitCode !== null)
        throw new Error(`raysl up exited before the cluster held; stderr:\n${up.stderr()}`);
      return undefined;
    },
    ms,
  );
}

describe('raysl up --local / exec / attach / down', () => {
  beforeAll(async () => {
    up = spawnCli([bundle, 'up', '--local', '-N', '2', '--job-dir', jobRoot], {
      cwd: root,
      env,
      defaultStream: 'stdout',
      defaultMs: 30_000,
    });
    jobId = (await up.waitFor(/^(local-\d+-\d+)$/m))[1]!;
    await holding(30_000);
  }, 60_000);
  afterAll(() => {
    if (up.child.exitCode === null) up.child.kill('SIGKILL');
    rmSync(jobRoot, { recursive: true, force: true });
  });

  it('the status and the timeline say the cluster is ready and holding', () => {
    const s = status();
    expect(s.state).toBe('running');
    expect(s.timeline.map((e) => e.phase)).toEqual(expect.arrayContaining(['ready', 'holding']));
    expect(s.timeline.map((e) => e.phase)).not.toContain('entrypoint-started');
    expect(up.stderr()).toContain(`raysl exec ${jobId} -- python3 job.py`);
    const shown = cli('status', jobId, '--job-dir', jobRoot);
    expect(shown.stdout + shown.stderr).toMatch(/holding for exec/);
  });

  it('exec runs three commands in a row: their output, their codes (0, 3, 0), the entrypoint environment', () => {
    const script =
      'echo "addr=$RAYSL_ADDRESS nodes=$(cat "$RAYSL_NODES_FILE" | grep -o node[0-9] | sort -u | tr "\\n" ,) pwd=$(pwd)"; echo to-stderr >&2; exit "$1"';
    const runs = ['0', '3', '0'].map((code) =>
      cli('exec', jobId, '--job-dir', jobRoot, '--', 'bash', '-c', script, 'x', code),
    );
    expect(runs.map((r) => r.status)).toEqual([0, 3, 0]);
    for (const r of runs) {
      expect(r.stdout).toMatch(
        new RegExp(`^addr=${status().controller!.replaceAll('.', '\\.')} nodes=node1,node2, pwd=${root}$`, 'm'),
      );
      expect(r.stderr).toContain('to-stderr');
    }
    const phases = status()
      .timeline.filter((e) => e.phase === 'exec-exited')
      .map((e) => e.code);
    expect(phases).toEqual([0, 3, 0]);
    expect(readFileSync(join(jobRoot, jobId, 'exec-2.log'), 'utf8')).toContain('to-stderr');
    // raysl logs of a held cluster: every exec's output, in order, each named
    const logs = cli('logs', jobId, '--job-dir', jobRoot);
    expect(logs.status, logs.stderr).toBe(0);
    expect(logs.stdout.match(/^to-stderr$/gm)).toHaveLength(3);
    expect(logs.stderr).toMatch(
      /^== exec 1 \(\S+exec-1\.log\)\n== exec 2 \(\S+exec-2\.log\)\n== exec 3 \(\S+exec-3\.log\)$/m,
    );
  });

  it('exec --json ends with one JSON line carrying the code', () => {
    const r = cli('exec', '--json', jobId, '--job-dir', jobRoot, '--', 'sh', '-c', 'echo out; exit 5');
    expect(r.status).toBe(5);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('out');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ jobId, exitCode: 5, signal: null });
  });

  it('attach prints exports without the token; evaluated in bash, they take a client to the cluster', () => {
    const token = readFileSync(join(jobRoot, jobId, 'token'), 'utf8').trim();
    const a = cli('attach', jobId, '--job-dir', jobRoot);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).not.toContain(token);
    expect(a.stdout).toContain(`export RAYSL_TOKEN_FILE=${join(jobRoot, jobId, 'token')}`);
    const client = join(jobRoot, 'client.mjs');
    writeFileSync(
      client,
      `import { connect } from ${JSON.stringify(join(root, 'dist', 'client.mjs'))};\nconst c = await connect();\nconsole.log('nodes', (await c.nodes()).map((n) => n.name).join(','));\nc.close();\n`,
    );
    // RAYSL_TOKEN of another job is in the environment: attach unsets it, so the token file is used
    const r = spawnSync(
      'bash',
      [
        '-c',
        `eval "$(${JSON.stringify(process.execPath)} ${JSON.stringify(bundle)} attach ${jobId} --job-dir ${JSON.stringify(jobRoot)})" && node ${JSON.stringify(client)}`,
      ],
      { cwd: root, env, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('nodes node1,node2');
  });

  it('Ctrl-C on exec stops the command on the cluster (its process group), and the cluster keeps holding', async () => {
    const x = spawnCli(
      [bundle, 'exec', jobId, '--job-dir', jobRoot, '--', 'bash', '-c', 'sleep 300 & echo "pid $!"; wait'],
      { cwd: root, env, defaultStream: 'stdout', defaultMs: 30_000 },
    );
    const pid = Number((await x.waitFor(/^pid (\d+)$/m))[1]);
    x.child.kill('SIGINT');
    expect(await x.exited).toBe(130);
    expect(await allGone([pid], 15_000)).toEqual([]);
    expect(cli('exec', jobId, '--job-dir', jobRoot, '--', 'true').status).toBe(0);
  });

  it('bad input: an unknown job is exit 2 with a hint', () => {
    const r = cli('exec', 'local-1-1', '--job-dir', jobRoot, '--', 'true');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no job local-1-1[\s\S]*hint:/);
  });

  it('down stops it: exit 0, the cluster succeeded with exit 0, nothing left; exec and down afterwards are exit 2', async () => {
    const d = cli('down', jobId, '--job-dir', jobRoot, '--json');
    expect(d.status, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({
      jobId,
      how: 'graceful',
      state: 'succeeded',
      exitCode: 0,
      kind: 'cluster',
    });
    expect(await up.exited).toBe(0);
    expect(status().timeline.at(-1)).toMatchObject({ phase: 'torn-down', code: 0 });
    expect(await jobGone(jobId, 10_000)).toEqual([]);
    const again = cli('exec', jobId, '--job-dir', jobRoot, '--', 'true');
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/is over \(succeeded\)[\s\S]*hint:/);
    const down2 = cli('down', jobId, '--job-dir', jobRoot);
    expect(down2.status).toBe(2);
    expect(down2.stderr).toMatch(/already over/);
  });
});
