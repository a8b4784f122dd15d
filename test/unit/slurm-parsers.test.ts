// Parsers and argv builders of src/slurm, on outputs recorded from the real test cluster
// (test/fixtures/slurm/record.sh; each fixture's first line is the command that produced it).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SlurmError, UsageError } from '../../src/core/errors.js';
import { commandLine, hintFor, runSlurm, slurmFailure, type SlurmExec } from '../../src/slurm/exec.js';
import { cancelArgv } from '../../src/slurm/scancel.js';
import { parseSbatchParsable, sbatchArgv, submit } from '../../src/slurm/sbatch.js';
import {
  gpuCount,
  parseScontrolLine,
  parseShowJob,
  parseShowNodes,
  showJob,
  showNodes,
  updateCommentArgv,
  updateJobComment,
} from '../../src/slurm/scontrol.js';
import { SQUEUE_FORMAT, jobState, listJobs, parseSqueue, squeueArgv } from '../../src/slurm/squeue.js';
import { srunArgv } from '../../src/slurm/srun.js';

function fixture(name: string): { cmd: string; out: string } {
  const text = readFileSync(new URL(`../fixtures/slurm/${name}`, import.meta.url), 'utf8');
  const nl = text.indexOf('\n');
  const header = text.slice(0, nl);
  expect(header.startsWith('# $ ')).toBe(true);
  return { cmd: header.slice(4), out: text.slice(nl + 1) };
}

/** A fake runner for the wrappers' glue (Slurm itself is exercised in test/slurm). */
function fakeExec(stdout: string, stderr = '', exitCode = 0): SlurmExec & { calls: string[][] } {
  const calls: string[][] = [];
  const exec = (async ({ argv }) => {
    calls.push([...argv]);
    return { stdout, stderr, exitCode };
  }) as SlurmExec & { calls: string[][] };
  exec.calls = calls;
  return exec;
}

describe('squeue', () => {
  it('the recorded command used exactly our format string', () => {
    expect(fixture('squeue-running-pending.txt').cmd).toContain('--format=%i\\037%j\\037%u\\037%T');
    expect(SQUEUE_FORMAT.split('\x1f')).toHaveLength(15);
    expect(SQUEUE_FORMAT.endsWith('\x1e')).toBe(true);
  });

  it('parses running and pending jobs, odd names and comments intact', () => {
    const jobs = parseSqueue(fixture('squeue-running-pending.txt').out);
    expect(jobs.map((j) => [j.id, j.state, j.reason])).toEqual([
      ['27', 'PENDING', 'Resources'],
      ['28', 'PENDING', 'Priority'],
      ['26', 'RUNNING', 'None'],
    ]);
    const [odd, plain, big] = jobs;
    expect(odd!.name).toBe(`odd | name ü "q" 's`);
    expect(odd!.comment).toBe('raysl:ports=20480-20607');
    expect(odd!.nodelist).toBe('');
    expect(odd!.tresPerNode).toBe('gres:gpu:1');
    expect(plain!.comment).toBe('');
    expect(plain!.tresPerNode).toBe('');
    expect(plain!.numNodes).toBe(2);
    expect(big).toMatchObject({
      name: 'hold all gpus',
      user: 'root',
      partition: 'debug',
      nodelist: 'node[1-4]',
      comment: 'raysl:ports=20608-20735',
      numNodes: 4,
      numCpus: 4,
      tresPerNode: 'gres:gpu:4',
      timeLimit: 'UNLIMITED',
      startTime: '2026-11-22T04:10:29',
    });
  });

  it('parses cancelled jobs (listed by id with --states=all)', () => {
    const jobs = parseSqueue(fixture('squeue-cancelled.txt').out);
    expect(jobs.map((j) => j.state)).toEqual(['CANCELLED', 'CANCELLED']);
  });

  it('parses empty output as no jobs', () => {
    expect(parseSqueue(fixture('squeue-none.txt').out)).toEqual([]);
    expect(parseSqueue('')).toEqual([]);
  });

  it('rejects output in another format, saying what it received', () => {
    expect(() => parseSqueue('123 foo bar\n')).toThrow(SlurmError);
    expect(() => parseSqueue('1\x1f2\x1e\n')).toThrow(/2 fields, expected 15/);
  });

  it('builds argv from a filter; lookups by id include finished jobs', () => {
    expect(squeueArgv({ user: 'alice', partition: 'gpu', states: ['RUNNING', 'PD'], name: 'raysl' })).toEqual([
      'squeue',
      '--noheader',
      `--format=${SQUEUE_FORMAT}`,
      '--user=alice',
      '--partition=gpu',
      '--states=RUNNING,PD',
      '--name=raysl',
    ]);
    expect(squeueArgv({ jobIds: ['5', '6'] }).slice(3)).toEqual(['--states=all', '--jobs=5,6']);
    expect(squeueArgv({ jobIds: ['5'], states: ['R'] }).slice(3)).toEqual(['--states=R', '--jobs=5']);
  });

  it('listJobs treats "Invalid job id" as no such job, other failures as SlurmError', async () => {
    const stderr = readFileSync(new URL('../fixtures/slurm/squeue-invalid-id.txt.stderr', import.meta.url), 'utf8');
    await expect(listJobs({ jobIds: ['999999'] }, { exec: fakeExec('', stderr, 1) })).resolves.toEqual([]);
    await expect(jobState('999999', { exec: fakeExec('', stderr, 1) })).resolves.toBeUndefined();
    await expect(
      listJobs({ user: 'x' }, { exec: fakeExec('', 'slurm_load_jobs error: Unable to contact slurm controller', 1) }),
    ).rejects.toThrow(/squeue .* failed with exit code 1: slurm_load_jobs error: Unable to contact/);
  });

  it('jobState reads the state of the job asked for', async () => {
    const out = fixture('squeue-running-pending.txt').out;
    await expect(jobState('26', { exec: fakeExec(out) })).resolves.toBe('RUNNING');
    await expect(jobState('27', { exec: fakeExec(out) })).resolves.toBe('PENDING');
  });
});

describe('scontrol show job', () => {
  it('parses a running job, Comment with "=" inside kept whole', () => {
    const [job] = parseShowJob(fixture('scontrol-show-job-running.txt').out);
    expect(job).toMatchObject({
      id: '26',
      name: 'hold all gpus',
      user: 'root',
      state: 'RUNNING',
      nodelist: 'node[1-4]',
      batchHost: 'node1',
      comment: 'raysl:ports=20608-20735',
      numNodes: 4,
      stdOut: '/dev/null',
    });
    expect(job!.raw['TresPerNode']).toBe('gres:gpu:4');
    expect(job!.raw['AllocNode:Sid']).toBeDefined();
    expect(job!.raw['CPUs/Task']).toBe('1');
  });

  it('parses a pending job (no nodes yet) with an odd name', () => {
    const [job] = parseShowJob(fixture('scontrol-show-job-pending.txt').out);
    expect(job).toMatchObject({
      id: '27',
      state: 'PENDING',
      reason: 'Resources',
      nodelist: '',
      batchHost: '',
      name: `odd | name ü "q" 's`,
    });
  });

  it('parses a cancelled job with its exit code', () => {
    const [job] = parseShowJob(fixture('scontrol-show-job-cancelled.txt').out);
    expect(job).toMatchObject({ state: 'CANCELLED', exitCode: '0:15' });
  });

  it('splits values that contain spaces at the next Key=', () => {
    expect(parseScontrolLine('NodeName=n1 OS=Linux 6.1 #1 SMP PREEMPT  RealMemory=4096 Comment=a:b=c')).toEqual({
      NodeName: 'n1',
      OS: 'Linux 6.1 #1 SMP PREEMPT',
      RealMemory: '4096',
      Comment: 'a:b=c',
    });
  });

  it('showJob returns undefined for a purged job and rejects a bad id before running anything', async () => {
    const stderr = readFileSync(
      new URL('../fixtures/slurm/scontrol-show-job-invalid.txt.stderr', import.meta.url),
      'utf8',
    );
    const exec = fakeExec('', stderr, 1);
    await expect(showJob('999999', { exec })).resolves.toBeUndefined();
    expect(exec.calls).toEqual([['scontrol', 'show', 'job', '--oneliner', '999999']]);
    const never = fakeExec('');
    await expect(showJob('12; rm -rf /', { exec: never })).rejects.toThrow(UsageError);
    expect(never.calls).toEqual([]);
  });
});

describe('scontrol show node', () => {
  it('parses every node of a hostlist from one call, with its own NodeAddr', () => {
    const nodes = parseShowNodes(fixture('scontrol-show-node-mixed.txt').out);
    expect(nodes.map((n) => [n.name, n.addr, n.hostname])).toEqual([
      ['node1', '127.0.1.1', 'node1'],
      ['node2', '127.0.1.2', 'node2'],
      ['node3', '127.0.1.3', 'node3'],
      ['node4', '127.0.1.4', 'node4'],
    ]);
    for (const n of nodes)
      expect(n).toMatchObject({ cpus: 4, realMemory: 4096, gres: 'gpu:4', gpus: 4, state: 'MIXED' });
    expect(nodes[0]!.raw['OS']).toMatch(/^Linux \S+ #1 SMP/);
  });

  it('counts GPUs in every Gres form', () => {
    expect(gpuCount('gpu:4')).toBe(4);
    expect(gpuCount('gpu:a100:8(S:0-1)')).toBe(8);
    expect(gpuCount('gpu:a100:2(S:0),gpu:v100:2(S:1)')).toBe(4);
    expect(gpuCount('gpu:a100:2,mps:200,gpu:1')).toBe(3);
    expect(gpuCount('')).toBe(0);
  });

  it('reports an unknown node with the message scontrol printed (on stdout)', async () => {
    const out = fixture('scontrol-show-node-unknown.txt').out;
    const err = await showNodes('nosuchnode', { exec: fakeExec(out, '', 1) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlurmError);
    expect((err as SlurmError).message).toMatch(
      /scontrol show node --oneliner nosuchnode failed with exit code 1: Node nosuchnode not found/,
    );
    expect((err as SlurmError).hint).toMatch(/sinfo -N/);
    await expect(showNodes('a b')).rejects.toThrow(UsageError);
  });
});

describe('scontrol misc', () => {
  it('updates a comment as one argv word, refusing newlines', async () => {
    expect(updateCommentArgv('7', 'raysl:ports=1-2 x')).toEqual([
      'scontrol',
      'update',
      'JobId=7',
      'Comment=raysl:ports=1-2 x',
    ]);
    const exec = fakeExec('');
    await updateJobComment('7', 'raysl:ports=20480-20607', { exec });
    expect(exec.calls).toEqual([['scontrol', 'update', 'JobId=7', 'Comment=raysl:ports=20480-20607']]);
    await expect(updateJobComment('7', 'a\nb', { exec })).rejects.toThrow(UsageError);
  });
});

describe('sbatch', () => {
  it('parses --parsable output with and without a cluster name', () => {
    expect(parseSbatchParsable(fixture('sbatch-parsable.txt').out)).toEqual({ jobId: '29' });
    expect(parseSbatchParsable('123;cluster-a\n')).toEqual({ jobId: '123', cluster: 'cluster-a' });
    expect(() => parseSbatchParsable('Submitted batch job 5\n')).toThrow(/expected a job id such as "123"/);
    expect(() => parseSbatchParsable('')).toThrow(SlurmError);
  });

  it('puts options before the script path and returns the id', async () => {
    expect(sbatchArgv('/j/job.sh', ['--comment=x y'])).toEqual(['sbatch', '--parsable', '--comment=x y', '/j/job.sh']);
    const exec = fakeExec('42;lab\n', 'sbatch: warning: something\n');
    await expect(submit('/j/job.sh', [], { exec })).resolves.toBe('42');
  });

  it('maps a failed submit to SlurmError with the command, stderr and a hint', async () => {
    const exec = fakeExec(
      '',
      'sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n',
      1,
    );
    const err = (await submit('/j/job.sh', ['--partition=nope'], { exec }).catch((e: unknown) => e)) as SlurmError;
    expect(err).toBeInstanceOf(SlurmError);
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(
      'sbatch --parsable --partition=nope /j/job.sh failed with exit code 1: sbatch: error: Batch job submission failed: Invalid partition name specified',
    );
    expect(err.details?.stderr).toContain('invalid partition specified: nope'); // the whole text stays in --json
    expect(err.hint).toMatch(/sinfo -s/);
  });
});

describe('scancel', () => {
  it('builds argv for cancel, signal to the batch shell, signal to everything', () => {
    expect(cancelArgv({ jobId: '9' })).toEqual(['scancel', '9']);
    expect(cancelArgv({ jobId: '9', signal: 'USR1', batchOnly: true })).toEqual([
      'scancel',
      '--signal=USR1',
      '--batch',
      '9',
    ]);
    expect(cancelArgv({ jobId: '9', signal: 'SIGTERM', full: true })).toEqual([
      'scancel',
      '--signal=SIGTERM',
      '--full',
      '9',
    ]);
    expect(cancelArgv({ jobId: '9', signal: '15' })).toEqual(['scancel', '--signal=15', '9']);
  });

  it('rejects contradictory or unsafe requests', () => {
    expect(() => cancelArgv({ jobId: '9', batchOnly: true, full: true })).toThrow(/cannot be combined/);
    expect(() => cancelArgv({ jobId: '9', signal: 'term; ls' })).toThrow(/expected a signal name or number/);
    expect(() => cancelArgv({ jobId: '-u root' })).toThrow(/expected a Slurm job id/);
  });
});

describe('srun', () => {
  it('builds the agent step: explicit task count, --overlap, GPUs bound per node', () => {
    expect(
      srunArgv({
        nodes: 3,
        nodelist: 'node[2-4]',
        ntasksPerNode: 1,
        gpusPerNode: 4,
        cpusPerTask: 2,
        overlap: true,
        jobName: 'raysl-workers',
        output: '/j/agent-%N.log',
        command: ['node', '/x/raysl.mjs', 'agent'],
      }),
    ).toEqual([
      'srun',
      '--nodes=3',
      '--ntasks=3',
      '--ntasks-per-node=1',
      '--nodelist=node[2-4]',
      '--overlap',
      '--gpus-per-node=4',
      '--cpus-per-task=2',
      '--job-name=raysl-workers',
      '--output=/j/agent-%N.log',
      'node',
      '/x/raysl.mjs',
      'agent',
    ]);
  });

  it('adds --exact and extra options before the command; leaves out zero GPUs', () => {
    expect(
      srunArgv({
        nodes: 1,
        nodelist: 'n1',
        ntasksPerNode: 2,
        gpusPerNode: 0,
        overlap: false,
        exact: true,
        extra: ['--kill-on-bad-exit=1'],
        command: ['true'],
      }),
    ).toEqual([
      'srun',
      '--nodes=1',
      '--ntasks=2',
      '--ntasks-per-node=2',
      '--nodelist=n1',
      '--exact',
      '--kill-on-bad-exit=1',
      'true',
    ]);
  });

  it('rejects bad counts, lists and commands with what it received', () => {
    const base = { nodes: 1, nodelist: 'n1', ntasksPerNode: 1, overlap: true, command: ['true'] };
    expect(() => srunArgv({ ...base, nodes: 0 })).toThrow(/nodes must be an integer >= 1, received 0/);
    expect(() => srunArgv({ ...base, ntasksPerNode: 1.5 })).toThrow(/ntasksPerNode/);
    expect(() => srunArgv({ ...base, gpusPerNode: -1 })).toThrow(/gpusPerNode/);
    expect(() => srunArgv({ ...base, nodelist: 'n1 n2' })).toThrow(/hostlist without spaces/);
    expect(() => srunArgv({ ...base, command: [] })).toThrow(/needs a program/);
    expect(() => srunArgv({ ...base, command: ['--pty'] })).toThrow(/needs a program to run, received \["--pty"\]/);
  });
});

describe('exec helpers', () => {
  it('quotes a command line for messages', () => {
    expect(commandLine(['scontrol', 'update', 'Comment=a b', "it's"])).toBe(`scontrol update 'Comment=a b' 'it'\\''s'`);
  });

  it('hints at the likely fix', () => {
    expect(hintFor('sbatch: error: Could not establish a configuration source')).toMatch(/SLURM_CONF/);
    expect(hintFor('squeue: error: Unable to contact slurm controller (connect failure)')).toMatch(/scontrol ping/);
    expect(hintFor('Invalid user id for job 25')).toMatch(/by hand/);
    expect(slurmFailure(['squeue'], { stdout: '', stderr: '', exitCode: 2 }).message).toMatch(
      /exit code 2: \(no output\)/,
    );
  });

  it('a missing binary is a SlurmError saying which one', async () => {
    const err = (await runSlurm(['raysl-no-such-binary-xyz', '--version'], { timeoutMs: 5_000 }).catch(
      (e: unknown) => e,
    )) as SlurmError;
    expect(err).toBeInstanceOf(SlurmError);
    expect(err.message).toMatch(/raysl-no-such-binary-xyz not found on PATH/);
  });
});

describe('commandLine in messages (issue 16: the "Slurm not reachable" line)', () => {
  it("shows control characters (squeue's \\x1f/\\x1e separators) as $'\\x1f', never raw, and bash reads it back", async () => {
    const fmt = '%i\x1f%j\x1e';
    const line = commandLine(['squeue', '-o', fmt, "it's"]);
    expect(line).toBe("squeue -o $'%i\\x1f%j\\x1e' 'it'\\''s'");
    expect(line).not.toMatch(/[\x00-\x1f]/);
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('bash', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' })).toBe(
      `squeue\n-o\n${fmt}\nit's\n`,
    );
  });
});

// The same commands recorded on the Slurm 24.11 test cluster (RAYSL_FIXTURE_VERSION=24.11
// test/fixtures/slurm/record.sh inside its root filesystem): the same jobs as above (a running job
// holding every GPU, a pending one with an odd name and one GPU, a plain 2-node one), ids from 1000000.
describe('the same outputs on Slurm 24.11', () => {
  it('squeue: same fields; TRES per node reads "gres/gpu:N" where 22.05 said "gres:gpu:N"; pending jobs listed first', () => {
    expect(fixture('squeue-running-pending-24.11.txt').cmd).toBe(
      fixture('squeue-running-pending.txt').cmd.replace('--jobs=26\\,27\\,28', '--jobs=1000066\\,1000067\\,1000068'),
    );
    const jobs = parseSqueue(fixture('squeue-running-pending-24.11.txt').out);
    expect(jobs.map((j) => [j.id, j.state, j.reason])).toEqual([
      ['1000068', 'PENDING', 'Priority'],
      ['1000067', 'PENDING', 'Resources'],
      ['1000066', 'RUNNING', 'None'],
    ]);
    const [plain, odd, big] = jobs;
    expect(odd).toMatchObject({
      name: `odd | name ü "q" 's`,
      comment: 'raysl:ports=20480-20607',
      nodelist: '',
      tresPerNode: 'gres/gpu:1',
    });
    expect(plain).toMatchObject({ comment: '', tresPerNode: '', numNodes: 2 });
    expect(big).toMatchObject({
      name: 'hold all gpus',
      nodelist: 'node[1-4]',
      comment: 'raysl:ports=20608-20735',
      numNodes: 4,
      numCpus: 4,
      tresPerNode: 'gres/gpu:4',
      timeLimit: 'UNLIMITED',
    });
    expect(parseSqueue(fixture('squeue-cancelled-24.11.txt').out).map((j) => j.state)).toEqual([
      'CANCELLED',
      'CANCELLED',
    ]);
    expect(parseSqueue(fixture('squeue-none-24.11.txt').out)).toEqual([]);
  });

  it('squeue of an unknown id: the same stderr, so listJobs still reads it as no such job', async () => {
    const stderr = readFileSync(
      new URL('../fixtures/slurm/squeue-invalid-id-24.11.txt.stderr', import.meta.url),
      'utf8',
    );
    expect(stderr).toBe(
      readFileSync(new URL('../fixtures/slurm/squeue-invalid-id.txt.stderr', import.meta.url), 'utf8'),
    );
    await expect(listJobs({ jobIds: ['999999'] }, { exec: fakeExec('', stderr, 1) })).resolves.toEqual([]);
  });

  it('scontrol show job: TRES= is split into ReqTRES=/AllocTRES=, TresPerNode says gres/gpu; what raysl reads is unchanged', () => {
    const [job] = parseShowJob(fixture('scontrol-show-job-running-24.11.txt').out);
    expect(job).toMatchObject({
      id: '1000066',
      name: 'hold all gpus',
      state: 'RUNNING',
      nodelist: 'node[1-4]',
      batchHost: 'node1',
      comment: 'raysl:ports=20608-20735',
      numNodes: 4,
      stdOut: '/dev/null',
    });
    expect(job!.raw['TresPerNode']).toBe('gres/gpu:4');
    expect(job!.raw['TRES']).toBeUndefined();
    expect(job!.raw['AllocTRES']).toBe('cpu=4,node=4,billing=4');
    const [pending] = parseShowJob(fixture('scontrol-show-job-pending-24.11.txt').out);
    expect(pending).toMatchObject({
      id: '1000067',
      state: 'PENDING',
      reason: 'Resources',
      nodelist: '',
      batchHost: '',
      name: `odd | name ü "q" 's`,
    });
    expect(parseShowJob(fixture('scontrol-show-job-cancelled-24.11.txt').out)[0]).toMatchObject({
      state: 'CANCELLED',
      exitCode: '0:15',
    });
  });

  it('scontrol show job of a purged id and show node of an unknown one: the same messages as 22.05', async () => {
    for (const name of ['scontrol-show-job-invalid', 'scontrol-show-node-unknown']) {
      expect(readFileSync(new URL(`../fixtures/slurm/${name}-24.11.txt.stderr`, import.meta.url), 'utf8'), name).toBe(
        readFileSync(new URL(`../fixtures/slurm/${name}.txt.stderr`, import.meta.url), 'utf8'),
      );
    }
    const stderr = readFileSync(
      new URL('../fixtures/slurm/scontrol-show-job-invalid-24.11.txt.stderr', import.meta.url),
      'utf8',
    );
    await expect(showJob('999999', { exec: fakeExec('', stderr, 1) })).resolves.toBeUndefined();
    const err = await showNodes('nosuchnode', {
      exec: fakeExec(fixture('scontrol-show-node-unknown-24.11.txt').out, '', 1),
    }).catch((e: unknown) => e);
    expect((err as SlurmError).message).toMatch(/Node nosuchnode not found/);
  });

  it('scontrol show node: every node with its own NodeAddr on the 24.11 bridge', () => {
    const nodes = parseShowNodes(fixture('scontrol-show-node-mixed-24.11.txt').out);
    expect(nodes.map((n) => [n.name, n.addr])).toEqual([1, 2, 3, 4].map((k) => [`node${k}`, `10.224.0.${10 + k}`]));
    for (const n of nodes)
      expect(n).toMatchObject({ cpus: 4, realMemory: 4096, gres: 'gpu:4', gpus: 4, state: 'MIXED' });
    expect(nodes[0]!.raw['Version']).toBe('24.11.5');
  });

  it('sbatch --parsable prints the bare id', () => {
    expect(parseSbatchParsable(fixture('sbatch-parsable-24.11.txt').out)).toEqual({ jobId: '1000069' });
  });
});
