// Issue 16, item 8, on the real test cluster: an --env value reaches the job's processes on every
// node through their environments only: no process on any node (the nodes share this host's PID
// namespace, so one /proc scan sees them all) carries it on its command line, and another user
// (nobody) can read nothing of the job's files: the job dir, its plan, logs, the submitted script
// and the batch log, nor Slurm's own copy of the script.
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { holdEntrypoint, newJobRoot, raysl, submittedId, waitForStatus } from './raysl-cli.js';

const conf = slurmConf();
const asNobody = (argv: string[]) =>
  spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...argv], {
    encoding: 'utf8',
    env: { ...process.env, SLURM_CONF: conf },
    timeout: 20_000,
  });

describe('secrets of a Slurm job', () => {
  it('an --env value is in no argv on any node, and nobody else reads the job files', async () => {
    const secret = `s3cret-${process.pid}-${Date.now()}`;
    const jobRoot = newJobRoot('secrets');
    chmodSync(jobRoot, 0o755); // walkable by others: the job's own modes are what keeps them out
    writeFileSync(join(jobRoot, 'control.txt'), 'readable');
    chmodSync(join(jobRoot, 'control.txt'), 0o644);
    const hold = holdEntrypoint(jobRoot);
    const sub = raysl(['submit', '-N', '3', '--job-dir', jobRoot, '--env', 'API_KEY', hold.path], {
      env: { API_KEY: secret },
    });
    const jobId = await submittedId(sub);
    expect(await sub.exited, sub.stderr()).toBe(0);
    try {
      await waitForStatus(
        jobRoot,
        jobId,
        'entrypoint running',
        (s) => s.timeline.some((e) => e.phase === 'entrypoint-started'),
        400_000,
      ); // the shared cluster may queue it
      const procs = jobProcesses(jobId);
      // the controller, three agents (srun steps: srun, slurmstepd's task) and the entrypoint
      expect(new Set(procs.map((p) => p.node))).toEqual(new Set(['node1', 'node2', 'node3']));
      const environOf = (pid: number) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'utf8');
        } catch {
          return ''; // exited since the scan
        }
      };
      const withValue = procs.filter((p) => environOf(p.pid).includes(`API_KEY=${secret}`));
      expect(withValue.length).toBeGreaterThanOrEqual(5);
      const carriers = readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .flatMap((pid) => {
          try {
            const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            return cmdline.includes(secret) ? [`${pid}: ${cmdline.replaceAll('\0', ' ')}`] : [];
          } catch {
            return [];
          }
        });
      expect(carriers).toEqual([]);

      const dir = join(jobRoot, jobId);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      for (const f of readdirSync(dir))
        if (statSync(join(dir, f)).isFile()) expect([f, statSync(join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
      expect(readFileSync(join(dir, 'plan.json'), 'utf8')).toContain(secret);
      const script = readdirSync(jobRoot).find((f) => f.endsWith('.sbatch'))!;
      const batchLog = join(jobRoot, `raysl-${jobId}.out`);
      expect(statSync(join(jobRoot, script)).mode & 0o777).toBe(0o600);
      expect(statSync(batchLog).mode & 0o777).toBe(0o600);
      // nobody walks into the root (the control file), and reads nothing of the job
      expect(asNobody(['cat', join(jobRoot, 'control.txt')]).stdout).toBe('readable');
      for (const f of [
        join(dir, 'plan.json'),
        join(dir, 'job.sh'),
        join(dir, 'controller.log'),
        join(dir, 'entrypoint.log'),
        join(dir, 'agent-node2.log'),
        join(jobRoot, script),
        batchLog,
      ]) {
        const r = asNobody(['cat', f]);
        expect([f, r.status, r.stdout]).toEqual([f, 1, '']);
      }
      // Slurm keeps its copy of the batch script for the owner (and admins) only
      const slurmCopy = asNobody(['scontrol', 'write', 'batch_script', jobId, '-']);
      // (Slurm 22.05's scontrol exits 0 here, saying "job script retrieval failed: Invalid user id")
      expect(slurmCopy.stdout + slurmCopy.stderr).not.toContain(secret);
      expect(slurmCopy.stdout + slurmCopy.stderr).toMatch(/retrieval failed|denied|Invalid user/i);
    } finally {
      hold.release();
    }
    await waitForStatus(jobRoot, jobId, 'succeeded', (s) => s.state === 'succeeded', 60_000);
    await waitForJobEnd(jobId);
  }, 560_000);
});
