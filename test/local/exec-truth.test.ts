/**
 * Issue 16 and issue 20 section 4, on a real `raysl up --local` cluster: exec forwards stdin
 * (streamed, not uploaded at EOF), names a command's start failure as a shell would (126, 127, the
 * missing #! interpreter), says when the cluster went down under it, waits for a cluster still
 * forming and fails with 4 for one that never holds; `logs --follow` of a held cluster prints the
 * earlier and the new execs' output.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/core/status.js';
import { spawnCli, type CliProcess } from '../support/cli-process.js';
import { until } from '../support/until.js';
import { bundle, ensureBuilt, jobGone, root } from './helpers.js';
import { withFaults } from '../support/fault-env.js';
import { tempDir } from '../support/temp-dir.js';

beforeAll(() => ensureBuilt(), 120_000);

const jobRoot = tempDir('raysl-exec-');
const env = { ...process.env, NO_COLOR: '1' };
const cli = (args: string[], opts: { input?: string; stdin?: 'ignore' | 'pipe' } = {}) =>
  spawnSync(process.execPath, [bundle, ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 60_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'],
  });

let up: CliProcess;
let jobId = '';
const status = (): JobStatus => JSON.parse(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8')) as JobStatus;
const exec = (...argv: string[]) => ['exec', jobId, '--job-dir', jobRoot, '--', ...argv];

describe('raysl exec on a cluster still forming, and on one that never holds', () => {
  it('exec started before the cluster holds waits for it, then runs', async () => {
    const dir = tempDir('raysl-exec-wait-');
    const u = spawnCli([bundle, 'up', '--local', '-N', '2', '--job-dir', dir], {
      cwd: root,
      env,
      defaultStream: 'stdout',
      defaultMs: 30_000,
    });
    try {
      const id = (await u.waitFor(/^(local-\d+-\d+)$/m))[1]!;
      const r = cli(['exec', id, '--job-dir', dir, '--', 'echo', 'ran']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('ran\n');
      expect(cli(['down', id, '--job-dir', dir]).status).toBe(0);
      expect(await u.exited).toBe(0);
    } finally {
      if (u.child.exitCode === null) u.child.kill('SIGKILL');
    }
  }, 60_000);

  it('a cluster that never holds (node2 never joins, --join-timeout 2): exec exits 4 with the reason', async () => {
    const dir = tempDir('raysl-exec-never-');
    const u = spawnCli([bundle, 'up', '--local', '-N', '2', '--join-timeout', '2', '--job-dir', dir], {
      cwd: root,
      env: { ...env, ...withFaults({ RAYSL_TEST_SILENT_AGENT: 'node2' }) },
      defaultStream: 'stdout',
      defaultMs: 30_000,
    });
    try {
      const id = (await u.waitFor(/^(local-\d+-\d+)$/m))[1]!;
      const r = cli(['exec', id, '--job-dir', dir, '--', 'echo', 'ran']);
      expect(r.status, r.stderr).toBe(4);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/raysl: waiting for job \S+'s cluster to form/);
      expect(r.stderr).toMatch(/raysl: error: job \S+ ended before its cluster held \(failed\): .*node2/);
      expect(r.stderr).toMatch(/\n {2}hint: what happened: raysl status/);
      expect(await u.exited).toBe(4);
    } finally {
      if (u.child.exitCode === null) u.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('raysl exec on a holding cluster', () => {
  beforeAll(async () => {
    up = spawnCli([bundle, 'up', '--local', '-N', '2', '--job-dir', jobRoot], {
      cwd: root,
      env,
      defaultStream: 'stdout',
      defaultMs: 30_000,
    });
    jobId = (await up.waitFor(/^(local-\d+-\d+)$/m))[1]!;
    await until(
      () => 'the cluster holds',
      () => (status().timeline.some((e) => e.phase === 'holding') ? true : undefined),
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${up.stderr()}`);
    });
  }, 60_000);
  afterAll(() => {
    if (up.child.exitCode === null) up.child.kill('SIGKILL');
    rmSync(jobRoot, { recursive: true, force: true });
  });

  it('forwards stdin: echo hi | raysl exec ID -- cat prints hi; python3 - < job.py runs job.py', () => {
    const r = cli(exec('cat'), { input: 'hi\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('hi\n');
    const big = 'x'.repeat(1 << 20) + '\n';
    const w = cli(exec('wc', '-c'), { input: big });
    expect(w.stdout.trim()).toBe(String(big.length));
    const py = cli(exec('python3', '-'), { input: 'import sys\nprint("job.py ran", sys.argv)\n' });
    expect(py.status, py.stderr).toBe(0);
    expect(py.stdout).toBe("job.py ran ['-']\n");
  });

  it('without stdin (/dev/null) nothing hangs: cat ends at once', () => {
    const r = cli(exec('cat'), { stdin: 'ignore' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('stdin is streamed: the command answers a line before the next one is written', async () => {
    const x = spawnCli([bundle, ...exec('sh', '-c', 'read a; echo "got $a"; read b; echo "got $b"')], {
      cwd: root,
      env,
      defaultStream: 'stdout',
      defaultMs: 20_000,
      stdin: 'pipe',
    });
    x.child.stdin!.write('1\n');
    await x.waitFor(/^got 1$/m);
    x.child.stdin!.end('2\n');
    await x.waitFor(/^got 2$/m);
    expect(await x.exited).toBe(0);
  });

  it('a command that cannot start says so as a shell would: 126 not executable, 127 a missing #! interpreter; "command", not "entrypoint"', () => {
    const dir = tempDir('raysl-exec-files-');
    const plain = join(dir, 'plain.sh');
    writeFileSync(plain, 'echo never\n');
    chmodSync(plain, 0o644);
    const r = cli(exec(plain));
    expect(r.status, r.stderr).toBe(126);
    expect(r.stderr).toContain(`raysl: cannot start command ${plain}: ${plain} is not executable`);
    const orphan = join(dir, 'orphan.sh');
    writeFileSync(orphan, '#!/nonexistent/interp\necho never\n');
    chmodSync(orphan, 0o755);
    const o = cli(exec(orphan));
    expect(o.status, o.stderr).toBe(127);
    expect(o.stderr).toContain(
      `raysl: cannot start command ${orphan}: its interpreter /nonexistent/interp (from the #! line of ${orphan}) was not found`,
    );
    const missing = cli(exec('no-such-command-raysl'));
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain(
      'raysl: cannot start command no-such-command-raysl: no-such-command-raysl not found on PATH',
    );
    expect(r.stderr + o.stderr + missing.stderr).not.toMatch(/entrypoint|ENOENT|EACCES/);
    expect(readFileSync(join(jobRoot, jobId, 'controller.log'), 'utf8')).not.toMatch(/pid undefined/);
  });

  it('exec ID ls -la without -- hints to put the command after --', () => {
    const r = cli(['exec', jobId, 'ls', '-la', '--job-dir', jobRoot]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`hint: put the command after --, so its flags are its own: raysl exec ${jobId} -- ls -la`),
    );
  });

  it('a client outside an entrypoint: import { connect } from \'raysl\' works after eval "$(raysl attach ID)", and through raysl exec', () => {
    // a directory with no node_modules and no package.json: only raysl's resolver can find 'raysl'
    const dir = tempDir('raysl-client-');
    const client = join(dir, 'my-client.mjs');
    writeFileSync(
      client,
      "import { connect } from 'raysl';\nconst c = await connect();\nconsole.log('nodes', (await c.nodes()).map((n) => n.name).join(','));\nc.close();\n",
    );
    const plain = spawnSync('node', [client], { cwd: dir, env, encoding: 'utf8' });
    expect(plain.stderr).toMatch(/ERR_MODULE_NOT_FOUND/); // the premise: plain node cannot find it
    const attached = spawnSync(
      'bash',
      [
        '-c',
        `eval "$(${JSON.stringify(process.execPath)} ${JSON.stringify(bundle)} attach ${jobId} --job-dir ${JSON.stringify(jobRoot)})" && node my-client.mjs`,
      ],
      { cwd: dir, env, encoding: 'utf8', timeout: 60_000 },
    );
    expect(attached.stderr).toBe('');
    expect(attached.stdout).toBe('nodes node1,node2\n');
    const viaExec = cli(exec('node', client));
    expect(viaExec.status, viaExec.stderr).toBe(0);
    expect(viaExec.stdout).toBe('nodes node1,node2\n');
  });

  it("logs --follow prints the earlier execs' output and each new one until the cluster is down; an exec cut by down says so", async () => {
    const follow = spawnCli([bundle, 'logs', jobId, '--follow', '--job-dir', jobRoot], {
      cwd: root,
      env,
      defaultStream: 'stdout',
      defaultMs: 20_000,
    });
    await follow.waitFor(/^hi$/m); // the first test's exec
    expect(cli(exec('echo', 'a new exec')).status).toBe(0);
    await follow.waitFor(/^a new exec$/m);
    const cut = spawnCli([bundle, ...exec('sh', '-c', 'echo started; exec sleep 300')], {
      cwd: root,
      env,
      defaultStream: 'stdout',
      defaultMs: 20_000,
    });
    await cut.waitFor(/^started$/m);
    expect(cli(['down', jobId, '--job-dir', jobRoot]).status).toBe(0);
    expect(await cut.exited).toBe(143);
    expect(cut.stderr()).toMatch(
      /raysl: job \S+: the cluster is shutting down \(raysl down, a signal or its time limit\): the command was stopped \(exit 143\)/,
    );
    expect(await follow.exited).toBe(0);
    expect(follow.stderr()).toMatch(/== exec \d+ \(\S+exec-\d+\.log\)/);
    expect(await up.exited).toBe(0);
    expect(await jobGone(jobId, 10_000)).toEqual([]);
  });
});
