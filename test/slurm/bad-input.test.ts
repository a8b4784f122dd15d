// Issue 10 section 3 on the real test cluster: sbatch's own complaint reaches the user, a feature
// no node has is named as such, and a signal to `submit --follow` says the job runs on and how to
// follow or cancel it (held jobs: nothing runs, nothing to wait for).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listJobs } from '../../src/slurm/squeue.js';
import { cancel } from '../../src/slurm/scancel.js';
import { slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, raysl, rayslDone, root, submittedId } from './raysl-cli.js';

slurmConf();
const train = join(root, 'examples', 'train.ts');

describe('bad input against the real Slurm', () => {
  it('--sbatch-arg=--bogus-opt: the error keeps sbatch\'s "unrecognized option" line', async () => {
    const r = await rayslDone(['submit', '--sbatch-arg=--bogus-opt', '--job-dir', newJobRoot('bogus'), train]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/failed with exit code \d+: sbatch: unrecognized option '--bogus-opt'/);
    expect(r.stderr).toMatch(/\n {2}hint: \S/);
  });

  it('-C <a feature no node has>: says no node has it (not "ask for at most 0 nodes")', async () => {
    const r = await rayslDone(['render', '-C', 'nosuchfeature', train]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/-C nosuchfeature: no node of .* has the feature nosuchfeature/);
    expect(r.stderr).not.toMatch(/at most 0 nodes/);
    expect(r.stderr).toMatch(/\n {2}hint: \S/);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s to submit --follow: exit %i, the job keeps its place, the message says how to follow or cancel it',
    async (signal, expected) => {
      const c = raysl([
        'submit',
        '-N',
        '1',
        '--sbatch-arg=--hold',
        '--job-dir',
        newJobRoot('follow-sig'),
        train,
        '--follow',
      ]);
      const jobId = await submittedId(c);
      try {
        await c.waitFor(/pending \(JobHeldUser\)/);
        c.child.kill(signal);
        expect(await c.exited).toBe(expected);
        expect(c.stderr()).toMatch(new RegExp(`stopped following on ${signal}; job ${jobId} keeps running`));
        expect(c.stderr()).toMatch(new RegExp(`raysl logs ${jobId} --follow .*raysl cancel ${jobId}`));
        expect((await listJobs({ jobIds: [jobId] })).map((j) => j.state)).toEqual(['PENDING']);
      } finally {
        await cancel({ jobId });
        await waitForJobEnd(jobId);
      }
    },
  );
});
