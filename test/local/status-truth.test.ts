// Status tells the truth after a fault: `raysl run --local` is killed with SIGKILL mid-run (so its
// status.json stays `running`), and status, ls and logs, run as real processes, find the job by its
// local id and read it as lost, with why. Unknown ids are usage errors (exit 2) with a hint.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initialStatus, withState } from '../../src/core/status.js';
import { bundle, ensureBuilt, exitWithin, fixtures, root, runLocal, statusWhere, jobGone } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

beforeAll(() => ensureBuilt(), 120_000);

// no Slurm binaries at all: a PATH that holds nothing (the CLI itself runs from process.execPath)
const noSlurm = { ...process.env, NO_COLOR: '1', PATH: tempDir('raysl-empty-path-') };

function raysl(
  args: string[],
  env: NodeJS.ProcessEnv = noSlurm,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bundle, ...args], { cwd: root, env, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('status after kill -9 of a local job', () => {
  it('status, ls and logs know the local job; once its controller is gone it reads as lost, with why', async () => {
    const job = runLocal(['-N', '2', join(fixtures, 'wait.sh')]);
    await job.waitFor(/ready \d+/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    const dir = ['--job-dir', job.jobRoot];
    expect(s.jobId).toMatch(/^local-\d+-\d+$/);
    expect(s.controllerPid).toBe(job.child.pid);
    expect(s.controllerStartTicks).toBeGreaterThan(0);

    // while it runs: status says running, ls lists it even without Slurm (and says so)
    const live = raysl(['status', s.jobId, ...dir, '--json']);
    expect(live.code, live.stderr).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({ jobId: s.jobId, state: 'running', local: true });
    const lsLive = raysl(['ls', ...dir]);
    expect(lsLive.code, lsLive.stderr).toBe(0);
    expect(lsLive.stderr).toMatch(/^Slurm not reachable: showing the job dir only/);
    expect(lsLive.stdout).toMatch(new RegExp(`^${s.jobId}\\s+\\S+\\s+running\\s+node\\[1-2\\]`, 'm'));
    const out = raysl(['logs', s.jobId, ...dir]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^ready \d+ \d+$/m);

    job.child.kill('SIGKILL');
    await exitWithin(job, 5000);
    // status.json was never told
    expect(job.status().state).toBe('running');

    const lost = raysl(['status', s.jobId, ...dir, '--json']);
    expect(lost.code, lost.stderr).toBe(0);
    const view = JSON.parse(lost.stdout) as { state: string; reason: string; status: { state: string } };
    expect(view.state).toBe('lost');
    expect(view.reason).toBe(
      `the controller (pid ${s.controllerPid}) is gone without writing a final state; status.json still says running`,
    );
    expect(view.status.state).toBe('running');
    const text = raysl(['status', s.jobId, ...dir]);
    expect(text.stdout).toMatch(
      new RegExp(`^job ${s.jobId}  lost  local job\\nwhy: the controller \\(pid \\d+\\) is gone`),
    );

    // ls lists only what may still run; --all adds the lost job, with its reason in --json
    const ls = raysl(['ls', ...dir]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toBe('');
    const all = raysl(['ls', '--all', ...dir]);
    expect(all.stdout).toMatch(new RegExp(`^${s.jobId}\\s+\\S+\\s+lost\\s+node\\[1-2\\]`, 'm'));
    const rows = JSON.parse(raysl(['ls', '--all', ...dir, '--json']).stdout) as Array<{
      id: string;
      state: string;
      reason?: string;
    }>;
    expect(rows).toEqual([
      expect.objectContaining({ id: s.jobId, state: 'lost', reason: expect.stringMatching(/controller .* is gone/) }),
    ]);

    // the agents tear the job down on their own (controller-killed.test.ts); leave nothing behind
    expect(await jobGone(s.jobId, 8000)).toEqual([]);

    // the agents wrote down that they lost the controller; read from a machine that cannot see the
    // controller's pid (another host in status.json), they are the witnesses
    for (const n of ['node1', 'node2']) {
      const rec = JSON.parse(readFileSync(join(job.jobRoot, s.jobId, `agent-${n}.ending.json`), 'utf8')) as {
        outcome: string;
        node: string;
      };
      expect(rec).toMatchObject({ version: 1, node: n, outcome: 'lost' });
    }
    const file = join(job.jobRoot, s.jobId, 'status.json');
    writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), controllerHost: 'some-other-login-node' }),
    );
    const witnessed = JSON.parse(raysl(['status', s.jobId, ...dir, '--json']).stdout) as {
      state: string;
      reason: string;
    };
    expect(witnessed.state).toBe('lost');
    expect(witnessed.reason).toMatch(
      /^agent node[12] \(and 1 other agent\) saw the controller go away at \S+; status\.json still says running$/,
    );
  });
});

describe('raysl cancel of a local job', () => {
  it('asks its controller (TERM) to tear down and reports the final state; again: already over', async () => {
    const job = runLocal(['-N', '2', join(fixtures, 'wait.sh')]);
    await job.waitFor(/ready \d+/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    const dir = ['--job-dir', job.jobRoot];
    const c = raysl(['cancel', s.jobId, '--json', ...dir]);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ jobId: s.jobId, how: 'graceful', state: 'cancelled' });
    expect(c.stderr).toMatch(new RegExp(`asking the controller \\(pid ${s.controllerPid}\\) to tear down`));
    await exitWithin(job, 5000);
    expect(job.status().state).toBe('cancelled');
    expect(await jobGone(s.jobId, 5000)).toEqual([]);
    const again = raysl(['cancel', s.jobId, ...dir]);
    expect(again.stdout).toBe(`job ${s.jobId} is already over (cancelled)\n`);
  });
});

describe('a Slurm job dir when Slurm cannot be asked', () => {
  it('status shows the record as written and says Slurm was not reachable; ls lists it', () => {
    const jobRoot = tempDir('raysl-test-');
    const s = initialStatus({
      jobId: '4242',
      runtime: 'builtin',
      launcher: 'srun',
      nodes: [{ name: 'node1', address: '10.0.0.1', role: 'head', log: '/x' }],
      minNodes: 1,
      startedAtMs: Date.now(),
    });
    mkdirSync(join(jobRoot, '4242'));
    writeFileSync(join(jobRoot, '4242', 'status.json'), JSON.stringify(withState(s, 'running')));
    const r = raysl(['status', '4242', '--job-dir', jobRoot]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^job 4242  running  slurm not reachable\n\(Slurm could not be asked: squeue not found on PATH/,
    );
    const ls = raysl(['ls', '--job-dir', jobRoot]);
    expect(ls.stderr).toMatch(/^Slurm not reachable: showing the job dir only/);
    expect(ls.stdout).toMatch(/^4242\s+-\s+running\s+node1/m);
  });
});

describe('unknown jobs are usage errors', () => {
  const empty = ['--job-dir', tempDir('raysl-test-')];
  it.each([
    [['status', '999999'], /^raysl: error: no job 999999: Slurm could not be asked \(squeue not found on PATH/],
    [['cancel', '999999'], /^raysl: error: no job 999999: Slurm could not be asked/],
    [['status', 'local-1-2'], /^raysl: error: no job local-1-2: there is no directory for it in /],
    [['logs', 'local-1-2'], /^raysl: error: no job local-1-2: there is no directory for it in /],
    [['cancel', 'local-1-2'], /^raysl: error: no job local-1-2: /],
  ])('raysl %j exits 2 with a hint to ls --all', (args, message) => {
    const r = raysl([...args, ...empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/\n {2}hint: list your jobs with `raysl ls --all`/);
  });
});
