// Issue 11, "Preemption and time limits", on the test cluster: Slurm's warning (USR2 to the batch
// shell, which exec'd the controller) delivered at once with `scancel -b -s USR2` (the timed
// --signal=B:USR2@<grace> is the same signal, only later), and --requeue --max-restarts.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cancel } from '../../src/slurm/scancel.js';
import { showJob } from '../../src/slurm/scontrol.js';
import { isFinal } from '../../src/core/status.js';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { processAlive } from '../../src/proc/identity.js';
import { entrypointPid, newJobRoot, raysl, rayslDone, submittedId, waitForStatus } from './raysl-cli.js';

slurmConf();

/**
 * The workload: says which attempt it is, then on attempt 0 runs until a TERM (bounded at 60 s so a
 * broken test cannot leave it running), writes `<jobRoot>/got-term-<attempt>` and exits 0 as a
 * checkpointing trainer would; a later attempt finishes at once.
 */
function checkpointingEntrypoint(jobRoot: string): string {
  const path = join(jobRoot, 'train.sh');
  writeFileSync(
    path,
    `#!/bin/sh
echo "attempt \${RAYSL_RESTART_COUNT} slurm \${SLURM_RESTART_COUNT:-unset}"
trap 'echo "TERM at attempt \${RAYSL_RESTART_COUNT}" > ${jobRoot}/got-term-\${RAYSL_RESTART_COUNT}; exit 0' TERM
[ "\${RAYSL_RESTART_COUNT}" != 0 ] && echo finished && exit 0
echo waiting
i=0
while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
exit 9
`,
  );
  chmodSync(path, 0o755);
  return path;
}

async function submit(jobRoot: string, flags: string[]): Promise<string> {
  const r = await rayslDone([
    'submit',
    '--json',
    '-N',
    '2',
    '--job-dir',
    jobRoot,
    ...flags,
    checkpointingEntrypoint(jobRoot),
  ]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { jobId: string }).jobId;
}

/**
 * The entrypoint's log so far: '' until the head's agent has created it (a job reads running first)
 * and while a requeue moves it into attempt-<n>/.
 */
const entrypointLog = (jobRoot: string, jobId: string) => {
  try {
    return readFileSync(join(jobRoot, jobId, 'entrypoint.log'), 'utf8');
  } catch {
    return '';
  }
};

describe("Slurm's warning (USR2)", () => {
  it('the entrypoint gets TERM, the job tears down and exits 6, the timeline says why, nothing is left', async () => {
    const jobRoot = newJobRoot('preempt');
    const jobId = await submit(jobRoot, ['-t', '10', '--preempt-grace', '60']);
    const running = await waitForStatus(
      jobRoot,
      jobId,
      'state running',
      (x) => x.state === 'running' && x.nodes.every((n) => n.pid !== undefined),
    );
    await waitForStatus(jobRoot, jobId, 'entrypoint output', () => /waiting/.test(entrypointLog(jobRoot, jobId)));
    const pids = [...running.nodes.map((n) => n.pid!), entrypointPid(jobRoot, jobId)!];

    await cancel({ jobId, signal: 'USR2', batchOnly: true });
    const s = await waitForStatus(jobRoot, jobId, 'final state', (x) => isFinal(x.state));
    expect(s.state).toBe('preempted');
    expect(s.exitCode).toBe(6);
    const warning = s.timeline.find((e) => e.phase === 'preempt-warning');
    expect(warning?.detail).toMatch(
      /SIGUSR2 from Slurm \(time limit near, or preemption\): SIGTERM to the entrypoint's process group, up to 45 s to exit/,
    );
    expect(s.timeline.find((e) => e.phase === 'entrypoint-exited')?.code).toBe(0);
    expect(s.error?.message).toMatch(/stopped at Slurm's warning .*the entrypoint exited with code 0/);
    expect(readFileSync(join(jobRoot, 'got-term-0'), 'utf8')).toBe('TERM at attempt 0\n');

    await waitForJobEnd(jobId);
    expect((await showJob(jobId))?.exitCode).toBe('6:0');
    expect(jobProcesses(jobId)).toEqual([]);
    expect(pids.filter((pid) => processAlive(pid))).toEqual([]);

    const st = await rayslDone(['status', jobId, '--job-dir', jobRoot]);
    expect(st.stdout).toMatch(new RegExp(`^job ${jobId}  preempted \\(exit 6\\)`));
    expect(st.stdout).toMatch(/preempted \/ time limit warning: SIGUSR2 from Slurm/);
  });

  it('--requeue --max-restarts 1: two attempts, the second sees restart count 1, logs apart, status shows both', async () => {
    const jobRoot = newJobRoot('requeue');
    const jobId = await submit(jobRoot, ['--requeue', '--max-restarts', '1', '--preempt-grace', '30']);
    const first = await waitForStatus(
      jobRoot,
      jobId,
      'attempt 0 running',
      (x) => x.state === 'running' && x.nodes.every((n) => n.pid !== undefined),
    );
    expect(first.attempt).toBe(0);
    await waitForStatus(jobRoot, jobId, 'entrypoint output', () => /waiting/.test(entrypointLog(jobRoot, jobId)));
    const pids = [...first.nodes.map((n) => n.pid!), entrypointPid(jobRoot, jobId)!];

    await cancel({ jobId, signal: 'USR2', batchOnly: true });
    // Slurm holds a requeued job for the step credential's lifetime (AuthInfo=cred_expire: 10 s on the test cluster, 120 s by default)
    const s = await waitForStatus(
      jobRoot,
      jobId,
      'attempt 1 final',
      (x) => x.attempt === 1 && isFinal(x.state),
      360_000,
    );
    expect(pids.filter((pid) => processAlive(pid))).toEqual([]);
    expect(s.state).toBe('succeeded');
    expect(s.exitCode).toBe(0);
    expect(s.attempts).toHaveLength(1);
    expect(s.attempts![0]).toMatchObject({
      attempt: 0,
      state: 'preempted',
      exitCode: 6,
      dir: join(jobRoot, jobId, 'attempt-0'),
    });

    const dir = join(jobRoot, jobId);
    expect(readFileSync(join(dir, 'attempt-0', 'entrypoint.log'), 'utf8')).toMatch(/^attempt 0 slurm unset\nwaiting\n/);
    expect(readFileSync(join(dir, 'entrypoint.log'), 'utf8')).toBe('attempt 1 slurm 1\nfinished\n');
    const log0 = readFileSync(join(dir, 'attempt-0', 'controller.log'), 'utf8');
    expect(log0).toMatch(
      /requeued after Slurm's warning: attempt 1 of at most 2 \(SLURM_RESTART_COUNT 0 < --max-restarts 1\)/,
    );
    expect(readFileSync(join(dir, 'controller.log'), 'utf8')).toMatch(/attempt 1 \(SLURM_RESTART_COUNT=1\)/);
    expect(existsSync(join(dir, 'attempt-0', 'status.json'))).toBe(true);
    expect(existsSync(join(jobRoot, 'got-term-0'))).toBe(true);
    // --open-mode=append: the batch log holds both attempts
    const batch = readFileSync(join(jobRoot, `raysl-${jobId}.out`), 'utf8');
    expect(batch).toMatch(/attempt 0 slurm unset[\s\S]*attempt 1 slurm 1/);

    const st = await rayslDone(['status', jobId, '--job-dir', jobRoot]);
    expect(st.stdout).toMatch(/attempts: 2\n +#0 +preempted +exit 6 .*attempt-0\n +#1 +succeeded \(this one\) +exit 0/);
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  }, 420_000);

  it('--requeue after a lost node: exit 5 on attempt 0, requeued, attempt 1 runs to the end; submit --follow follows both', async () => {
    const jobRoot = newJobRoot('requeue-lost');
    const follow = raysl([
      'submit',
      '-N',
      '2',
      '--requeue',
      '--job-dir',
      jobRoot,
      checkpointingEntrypoint(jobRoot),
      '--follow',
    ]);
    const jobId = await submittedId(follow);
    const first = await waitForStatus(
      jobRoot,
      jobId,
      'attempt 0 running',
      (x) => x.state === 'running' && x.nodes.every((n) => n.pid !== undefined),
    );
    await waitForStatus(jobRoot, jobId, 'entrypoint output', () => /waiting/.test(entrypointLog(jobRoot, jobId)));
    process.kill(first.nodes.find((n) => n.name !== first.head)!.pid!, 'SIGKILL');

    const s = await waitForStatus(
      jobRoot,
      jobId,
      'attempt 1 final',
      (x) => x.attempt === 1 && isFinal(x.state),
      360_000,
    );
    expect(s).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(s.attempts![0]).toMatchObject({
      attempt: 0,
      state: 'failed',
      exitCode: 5,
      reason: expect.stringMatching(/was lost while the job was running/),
    });
    const log0 = readFileSync(join(jobRoot, jobId, 'attempt-0', 'controller.log'), 'utf8');
    expect(log0).toMatch(/requeued after a lost node: attempt 1 of at most 2/);
    expect(readFileSync(join(jobRoot, jobId, 'entrypoint.log'), 'utf8')).toBe('attempt 1 slurm 1\nfinished\n');
    // --follow went on with the next attempt: both attempts' output, the requeue said, the last attempt's code
    expect(await follow.exited, follow.stderr()).toBe(0);
    expect(follow.stdout()).toMatch(/^attempt 0 slurm unset\nwaiting\n[^]*^attempt 1 slurm 1\nfinished\n/m);
    expect(follow.stderr()).toMatch(
      /^attempt 0 ended failed \(exit 5\); requeued after a lost node: attempt 1 of at most 2 .*: following attempt 1 once Slurm starts it$/m,
    );
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  }, 420_000);
});
