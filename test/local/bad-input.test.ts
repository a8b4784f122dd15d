// Issue 10 section 3, through the real CLI: bad input is exit 2 with what and a hint, before
// anything starts, within a deadline (a hang fails the test); Ctrl-C of a local job is 130.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  agentPids,
  allGone,
  ensureBuilt,
  exitWithin,
  expectUsage,
  fixtures,
  rayslSync as raysl,
  runLocal,
  statusWhere,
} from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

beforeAll(() => ensureBuilt(), 120_000);

const wait = join(fixtures, 'wait.sh');

describe('--job-dir that cannot hold jobs: exit 2 before anything starts', () => {
  it.each([
    ['a file', () => join(tempDir('raysl-bad-'), 'f'), /--job-dir \S+\/f: \S+\/f exists and is not a directory/],
    [
      'under a file',
      () => join(tempDir('raysl-bad-'), 'f', 'jobs'),
      /--job-dir \S+\/f\/jobs: \S+\/f exists and is not a directory/,
    ],
    ['/sys/kernel', () => '/sys/kernel', /--job-dir \/sys\/kernel: cannot create files in it/],
    ['/proc/raysl (no hang)', () => '/proc/raysl', /--job-dir \/proc\/raysl: cannot create \/proc\/raysl/],
  ])('run --local --job-dir %s', (_what, dirOf, message) => {
    const dir = dirOf();
    if (dir.includes('raysl-bad-')) writeFileSync(dir.replace(/\/jobs$/, ''), 'x');
    expectUsage(raysl(['run', '--local', '--job-dir', dir, wait], { ms: 8000 }), message);
  });

  it('submit --job-dir <a file> is refused before sbatch runs', async () => {
    const file = join(tempDir('raysl-bad-'), 'f');
    writeFileSync(file, 'x');
    expectUsage(raysl(['submit', '--no-check', '--job-dir', file, wait]), /exists and is not a directory/);
  });

  it('a job dir this user cannot write (run as nobody)', async () => {
    const parent = tempDir('raysl-bad-');
    chmodSync(parent, 0o755);
    const locked = join(parent, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(locked, 0o555);
    // nobody reads the bundle (world-readable) and an entrypoint copied next to the job dir
    const entry = join(parent, 'wait.sh');
    copyFileSync(wait, entry);
    chmodSync(entry, 0o755);
    const r = raysl(['run', '--local', '--job-dir', join(locked, 'jobs'), entry], {
      cwd: parent,
      asNobody: true,
      env: { HOME: parent },
    });
    expectUsage(r, /--job-dir \S+\/locked\/jobs: cannot create \S+\/locked\/jobs \(permission denied\)/);
  });
});

describe('other inputs refused before the cluster is built', () => {
  it('run --local -N 255: at most 254 simulated nodes (127.0.1.N)', async () => {
    expectUsage(
      raysl(['run', '--local', '-N', '255', wait]),
      /--nodes 255: run --local simulates at most 254 nodes \(node i listens on 127\.0\.1\.<i>\)/,
    );
  });

  it('run --local -N 100000000 is refused at once, not after the heap runs out', async () => {
    expectUsage(raysl(['run', '--local', '-N', '100000000', wait], { ms: 5000 }), /--nodes: at most 65536/);
  });

  it('an unreadable entrypoint (mode 000): exit 2, no job dir created', async () => {
    const dir = tempDir('raysl-bad-');
    const entry = join(dir, 'e.sh');
    copyFileSync(wait, entry);
    chmodSync(entry, 0o000);
    const jobs = join(dir, 'jobs');
    expectUsage(raysl(['run', '--local', '--job-dir', jobs, entry]), /entrypoint \S+e\.sh is not readable/);
    expect(existsSync(jobs)).toBe(false);
  });

  it('a NUL in a config env value: a clear error under run (not an internal error)', async () => {
    const dir = tempDir('raysl-bad-');
    writeFileSync(
      join(dir, 'raysl.config.json'),
      JSON.stringify({ profiles: { default: { env: { A: 'x\u0000y' } } } }),
    );
    copyFileSync(wait, join(dir, 'e.sh'));
    expectUsage(
      raysl(['run', '--local', '--job-dir', join(dir, 'jobs'), 'e.sh'], { cwd: dir }),
      /env A: the value holds a NUL byte/,
    );
    expect(readdirSync(dir)).not.toContain('jobs');
  });
});

describe('signals to run --local', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s once the entrypoint runs: exit %i, nothing left', async (signal, expected) => {
    const job = runLocal(['-N', '2', wait]);
    await job.waitFor(/ready (\d+) (\d+)/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    job.child.kill(signal);
    const { code } = await exitWithin(job, 15_000);
    expect(code, job.stderr()).toBe(expected);
    expect(await allGone(agentPids(s))).toEqual([]);
  });
});
