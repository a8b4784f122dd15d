// The fault matrix (test/support/fault-matrix.ts) under `raysl submit --follow` on the test
// cluster: every row a real Slurm job with a real fault, rows run concurrently (2-node jobs with
// one CPU per node: the 4x4-CPU cluster holds them side by side).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { readEphemeralPortRange } from '../../src/cli/facts.js';
import { allocatePortBlock, portLayout, portRange } from '../../src/core/ports.js';
import { cancel } from '../../src/slurm/scancel.js';
import { describeMatrix, type Driver, type StatusJson } from '../support/fault-matrix.js';
import { clusterNode, rayslJobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, raysl, rayslDone, readJobStatus, submittedId } from './raysl-cli.js';
import { withFaults } from '../support/fault-env.js';

slurmConf();
const holders: ChildProcess[] = [];
afterAll(() => holders.forEach((h) => h.kill('SIGKILL')));

/** Binds `port` on `node`'s address inside its network namespace; resolves once it listens. */
async function holdPortOnNode(node: string, port: number): Promise<void> {
  const { addr, netns } = clusterNode(node);
  const js =
    "require('net').createServer().listen(Number(process.argv[1]), process.argv[2], () => console.log('listening'))";
  const child = spawn('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', js, String(port), addr], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  holders.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`port holder on ${node} exited ${code}`)));
  });
}

const slurm: Driver = {
  launcher: 'slurm',
  async start(row, args, env) {
    const jobRoot = newJobRoot('faults');
    const extra = ['-c', '1'];
    if (row.setup === 'held-pending') extra.push('--sbatch-arg=--hold');
    // the node that never joins is named (RAYSL_TEST_FAIL_AGENT=node<N>): the job must get node[1-N]
    if (row.setup === 'last-never-joins') extra.push(`--sbatch-arg=--nodelist=node[1-${row.nodes}]`);
    if (row.setup === 'port-taken') {
      // a first-choice block (RAYSL_TEST_FIRST_PORT_BASE) whose agent port node2 holds
      const first = allocatePortBlock({
        jobId: randomUUID(),
        size: portLayout('builtin', row.nodes).size,
        range: portRange(readEphemeralPortRange()),
        taken: [],
      });
      await holdPortOnNode('node2', first.base + 1);
      extra.push('--sbatch-arg=--nodelist=node[1-2]');
      Object.assign(env, withFaults({ RAYSL_TEST_FIRST_PORT_BASE: String(first.base) }));
    }
    // sbatch exports the submitter's environment (RAYSL_TEST_* included) to the job
    const cli = raysl(['submit', ...extra, '--job-dir', jobRoot, ...args.slice(0, -3), '--follow', ...args.slice(-3)], {
      env: { ...env, TMPDIR: tmpdir() },
    });
    return { cli, jobRoot, jobId: await submittedId(cli) };
  },
  processes: (jobId) => rayslJobProcesses(jobId),
  readStatus: readJobStatus,
  async statusJson(jobRoot, jobId) {
    const r = await rayslDone(['status', jobId, '--json', '--job-dir', jobRoot]);
    if (r.code !== 0) throw new Error(`raysl status ${jobId} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as StatusJson;
  },
  scancel: async (jobId) => void (await cancel({ jobId })),
  cancel: (jobRoot, jobId) => raysl(['cancel', jobId, '--job-dir', jobRoot]),
  settle: (jobId) => waitForJobEnd(jobId, { timeoutMs: 60_000 }),
  scratch: (jobId) => [join(tmpdir(), `raysl-${jobId}`)],
};

describeMatrix('fault matrix: raysl submit --follow on the test cluster', slurm, 240_000);
