// `raysl check-ports` against the real test cluster (scripts/dev-slurm.sh up): a sleeping job
// whose Comment carries a port record must be listed, and the block offered to the next job must
// avoid it; a port we hold inside the offered block must make --probe exit 1 with the holder.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { memIo } from '../support/mem-io.js';
import { until } from '../support/until.js';
import type { CheckPortsReport } from '../../src/core/port-check.js';
import { blocksOverlap, formatPortRecord } from '../../src/core/ports.js';

/** SLURM_CONF from the environment, else from the dev cluster's env.sh. */
function slurmEnv(): NodeJS.ProcessEnv {
  if (process.env.SLURM_CONF) return { ...process.env };
  const text = readFileSync('/tmp/raysl-slurm/env.sh', 'utf8');
  const m = /SLURM_CONF=(\S+)/.exec(text);
  if (!m) throw new Error(`no SLURM_CONF in /tmp/raysl-slurm/env.sh: ${text}`);
  return { ...process.env, SLURM_CONF: m[1]! };
}

const env = slurmEnv();
// The bundler injects RAYSL_VERSION; vitest's `define` does not reach it here (see report), so an
// in-process runCli needs it on globalThis.
(globalThis as { RAYSL_VERSION?: string }).RAYSL_VERSION ??= 'test';
const jobs: string[] = [];
const servers: Server[] = [];

async function cli(
  argv: string[],
  envOverride: NodeJS.ProcessEnv = env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = memIo({ env: envOverride, cwd: process.cwd(), now: Date.now });
  const code = await runCli(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

async function report(argv: string[]): Promise<{ code: number; r: CheckPortsReport }> {
  const { code, stdout, stderr } = await cli(['--json', 'check-ports', ...argv]);
  expect(stderr).toBe('');
  return { code, r: JSON.parse(stdout) as CheckPortsReport };
}

/** Polls squeue with backoff until the job runs; fails with its last state at the deadline. */
async function waitRunning(id: string, deadlineMs = 60_000): Promise<string> {
  let last = '';
  const running = async (): Promise<string | undefined> => {
    const r = await execa('squeue', ['-h', '-j', id, '-o', '%T %N'], { env, reject: false });
    last = r.stdout.trim();
    const [state, nodes] = last.split(' ');
    return state === 'RUNNING' && nodes ? nodes : undefined;
  };
  return until(() => `job ${id} to be RUNNING (last squeue: ${JSON.stringify(last)})`, running, deadlineMs, {
    intervalMs: 20,
    maxIntervalMs: 250,
  });
}

let jobId = '';
let jobNodes = '';

beforeAll(async () => {
  // the job's workload idles until afterAll cancels it; the test itself never waits on time
  const r = await execa(
    'sbatch',
    [
      '--parsable',
      '-N',
      '1',
      '-w',
      'node2',
      '-J',
      'raysl-check-ports-test',
      '-o',
      '/dev/null',
      '--wrap',
      'exec sleep 600',
    ],
    { env },
  );
  jobId = r.stdout.trim().split(';')[0]!;
  jobs.push(jobId);
  jobNodes = await waitRunning(jobId);
});

afterAll(async () => {
  if (jobs.length > 0) await execa('scancel', jobs, { env, reject: false });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('raysl check-ports on the test cluster', () => {
  it('lists a raysl job by its Comment record and offers a disjoint block', async () => {
    expect(jobNodes).toBe('node2');
    // the block "next" would get on node2 while nobody holds one...
    const before = await report(['-w', 'node2', '--runtime', 'ray']);
    expect(before.code).toBe(0);
    expect(before.r.jobs).toEqual([]);
    expect(before.r.cpusPerNode).toBe(4);
    const wanted = { base: before.r.block!.first, size: before.r.block!.size };
    // ...is then recorded by our sleeping job, other text in the Comment kept
    await execa('scontrol', ['update', `JobId=${jobId}`, `Comment=owner=test ${formatPortRecord(wanted)}`], { env });

    const after = await report(['-w', 'node2', '--runtime', 'ray']);
    expect(after.code).toBe(0);
    expect(after.r.jobs).toEqual([
      {
        id: jobId,
        name: 'raysl-check-ports-test',
        user: expect.any(String),
        state: 'RUNNING',
        nodes: ['node2'],
        block: { first: wanted.base, last: wanted.base + wanted.size - 1, size: wanted.size },
      },
    ]);
    const offered = { base: after.r.block!.first, size: after.r.block!.size };
    expect(blocksOverlap(offered, wanted)).toBe(false);

    // the same job id always gets the same block; its own record does not block it
    const own = (await report(['-w', 'node2', '--job-id', jobId])).r.block;
    expect(own).toEqual((await report(['--no-slurm', '--cpus-per-task', '4', '--job-id', jobId])).r.block);
    // by partition: the job's node is in it, so it is listed too
    const byPartition = await report(['-p', 'debug']);
    expect(byPartition.r.jobs.map((j) => j.id)).toContain(jobId);
    // nodes without raysl jobs see nothing
    expect((await report(['-w', 'node[3-4]'])).r.jobs).toEqual([]);
  });

  it('prints a table for people', async () => {
    const { code, stdout } = await cli(['check-ports', '-w', 'node2', '--no-color']);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`\\n  ${jobId}\\s+\\S+\\s+RUNNING\\s+node2\\s+\\d+-\\d+\\s+\\d+\\n`));
    expect(stdout).toMatch(/job next would get block \d+-\d+ \(128 ports\):/);
    expect(stdout).toContain('ok: no collisions');
  });

  it('exits 1 and names the holder when --probe finds a port of the block bound', async () => {
    const { r } = await report(['-w', 'node2']);
    const gcs = r.layout.find((l) => l.name === 'gcs')!.first!;
    const s = createServer();
    servers.push(s);
    s.listen(gcs, '127.0.0.1');
    await once(s, 'listening');

    const json = await report(['-w', 'node2', '--probe']);
    expect(json.code).toBe(1);
    expect(json.r.ok).toBe(false);
    expect(json.r.probe!.taken).toEqual([
      {
        port: gcs,
        free: false,
        reason: 'in-use',
        name: 'gcs',
        holder: { pid: process.pid, command: expect.any(String) },
      },
    ]);
    const human = await cli(['check-ports', '-w', 'node2', '--probe', '--no-color']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(
      `port ${gcs} (gcs) of block ${r.block!.first}-${r.block!.last} is already bound on 127.0.0.1 by pid ${process.pid}`,
    );
    await new Promise((res) => s.close(res));
    expect((await report(['-w', 'node2', '--probe'])).code).toBe(0);
  });

  it('says so when the ephemeral range leaves no room', async () => {
    const { code, r } = await report(['-w', 'node2', '--cpus-per-task', '256', '--ephemeral-range', '21000-60999']);
    expect(code).toBe(1);
    expect(r.block).toBeNull();
    expect(r.collisions[0]!.message).toContain('a port block of 1088 ports does not fit in 20000-20999 (1000 ports');
  });

  it('fails with exit 3 when Slurm is unreachable, and works with --no-slurm', async () => {
    // no Slurm binaries on PATH: fails at once (a bad SLURM_CONF makes the clients retry for 60 s)
    const broken = { ...env, PATH: '/nonexistent' };
    const bad = await cli(['check-ports', '-w', 'node2'], broken);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('cannot look up the raysl jobs on these nodes');
    expect(bad.stderr).toContain('--no-slurm');
    const ok = await cli(['--json', 'check-ports', '--no-slurm', '--runtime', 'builtin', '--probe'], broken);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      ok: true,
      runtime: 'builtin',
      jobs: [],
      block: { size: 64 },
      probe: { address: '127.0.0.1', ports: 64, taken: [] },
    });
  });

  it('exits 1 when two raysl jobs on one node already claim overlapping blocks', async () => {
    const mine = (await report(['-w', 'node2', '--job-id', jobId])).r;
    const recorded = mine.jobs.find((j) => j.id === jobId)!.block;
    const r = await execa(
      'sbatch',
      [
        '--parsable',
        '-N',
        '1',
        '-w',
        'node2',
        '-J',
        'raysl-check-ports-test-2',
        '-o',
        '/dev/null',
        '--wrap',
        'exec sleep 600',
      ],
      { env },
    );
    const second = r.stdout.trim().split(';')[0]!;
    jobs.push(second);
    await waitRunning(second);
    await execa(
      'scontrol',
      ['update', `JobId=${second}`, `Comment=${formatPortRecord({ base: recorded.first + 64, size: 64 })}`],
      { env },
    );

    const { code, stdout } = await cli(['check-ports', '-w', 'node2', '--no-color']);
    expect(code).toBe(1);
    expect(stdout).toContain(
      `jobs ${jobId} and ${second} both use ports in ${recorded.first}-${recorded.last} / ${recorded.first + 64}-${recorded.first + 127} on node2`,
    );
    await execa('scancel', [second], { env });
  });

  it('refuses unknown nodes and bad flags with usage errors', async () => {
    const unknown = await cli(['check-ports', '-w', 'node[2,9]']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Slurm does not know node(s) node9 (asked for node[2,9])');
    const both = await cli(['check-ports', '-w', 'node2', '-p', 'debug']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('pass either -p/--partition or -w/--nodelist, received both');
    expect((await cli(['check-ports', '-w', 'node2', '-N', '3'])).stderr).toContain(
      'asked for 3 nodes (-N) but the scope holds only 1',
    );
  });
});
