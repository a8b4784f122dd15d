// The fault matrix (test/support/fault-matrix.ts) under `raysl run --local`: every row a real job
// with a real fault, rows run concurrently (each job has its own job dir, id and port block).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import { readEphemeralPortRange } from '../../src/cli/facts.js';
import { allocatePortBlock, portLayout, portRange } from '../../src/core/ports.js';
import { parseStatus } from '../../src/core/status.js';
import { localLauncher } from '../../src/launchers/local.js';
import { spawnCli } from '../support/cli-process.js';
import { describeMatrix, type Driver, type StatusJson } from '../support/fault-matrix.js';
import { until } from '../support/until.js';
import { bundle, ensureBuilt, jobGone, jobProcesses, root, runLocal } from './helpers.js';
import { withFaults } from '../support/fault-env.js';

beforeAll(() => ensureBuilt(), 120_000);

/** A process listening on host:port (resolves once it listens). */
async function holdPort(host: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${port},${JSON.stringify(host)},()=>console.log('LISTENING'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('LISTENING') && resolve());
    child.once('exit', (c) => reject(new Error(`port holder exited with ${c}`)));
  });
  return child;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

const env = { ...process.env, NO_COLOR: '1' };
const cli = (args: string[]) =>
  spawnCli([bundle, ...args], { cwd: root, env, defaultStream: 'stderr', defaultMs: 30_000 });

const local: Driver = {
  launcher: 'local',
  async start(row, args, extra) {
    let holder: ChildProcess | undefined;
    if (row.setup === 'port-taken') {
      const taken = await localLauncher().takenBlocks('none', []);
      const first = allocatePortBlock({
        jobId: randomUUID(),
        size: portLayout('builtin', row.nodes).size,
        range: portRange(readEphemeralPortRange()),
        taken,
      });
      holder = await holdPort(`127.0.1.${row.nodes}`, first.base + 1); // the builtin layout's agent port
      Object.assign(extra, withFaults({ RAYSL_TEST_FIRST_PORT_BASE: String(first.base) }));
    }
    const job = runLocal(args, { env: { ...extra, TMPDIR: tmpdir() } });
    const jobId = await until(
      () => `a job dir in ${job.jobRoot}`,
      () => readdirSync(job.jobRoot).find((d) => d.startsWith('local-')),
      30_000,
    );
    return { cli: job, jobRoot: job.jobRoot, jobId, cleanup: () => void holder?.kill('SIGKILL') };
  },
  processes: (jobId) => jobProcesses(jobId).map((pid) => ({ pid, cmdline: cmdline(pid) })),
  readStatus(jobRoot, jobId) {
    try {
      return parseStatus(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8'));
    } catch {
      return undefined;
    }
  },
  async statusJson(jobRoot, jobId) {
    const r = spawnSync(process.execPath, [bundle, 'status', jobId, '--json', '--job-dir', jobRoot], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.status !== 0) throw new Error(`raysl status ${jobId} exited ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout) as StatusJson;
  },
  scancel: () => Promise.reject(new Error('no scancel for a local job')),
  cancel: (jobRoot, jobId) => cli(['cancel', jobId, '--job-dir', jobRoot]),
  // the agents sweep on their own after the controller is gone: wait for them (the deadline only guards a hang)
  settle: async (jobId) => void (await jobGone(jobId, 20_000)),
  scratch: (jobId) => [join(tmpdir(), `raysl-${jobId}`)],
};

describeMatrix('fault matrix: raysl run --local', local, 120_000);
