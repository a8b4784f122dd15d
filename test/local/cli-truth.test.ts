// Issue 16 ("Wrong semantics", "Messages that mislead"), through the built CLI: exit codes that
// mean one thing, --json that is JSON, messages that name what happened and what to do.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, exitWithin, expectUsage, fixtures, rayslSync as raysl, root, runLocal } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

beforeAll(() => ensureBuilt(), 120_000);

/** An environment whose Slurm client finds no config (a machine without Slurm set up): it fails at once. */
const noSlurm = { SLURM_CONF: undefined };

/** The usage (commander's) on stderr, then our one error line and one hint. */
function expectUsageAfterHelp(r: { code: number; stderr: string; stdout: string }, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/^Usage: raysl/);
  const [error, hint, ...rest] = r.stderr.trimEnd().split('\n').slice(-2).concat([]);
  expect(error).toMatch(message);
  expect(hint).toMatch(/^ {2}hint: \S/);
  expect(rest).toEqual([]);
  expect(r.stdout).toBe('');
}

function project(files: Record<string, string> = {}): string {
  const dir = tempDir('raysl-truth-');
  writeFileSync(join(dir, 't.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('usage errors: exit 2, one error line and one hint', () => {
  it('bare raysl prints the usage to stderr and exits 2 (like git and npm: a command is required)', () => {
    expectUsageAfterHelp(raysl([]), /^raysl: error: no command given$/);
  });

  it('raysl help nosuch is an unknown command (exit 2); raysl help is help (exit 0)', () => {
    expectUsageAfterHelp(raysl(['help', 'nosuch']), /^raysl: error: unknown command 'nosuch'$/);
    const help = raysl(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: raysl/);
  });

  it('check-ports --job-id abc is refused (the block is computed from a Slurm job id)', () => {
    expectUsage(
      raysl(['check-ports', '--no-slurm', '--job-id', 'abc']),
      /--job-id: expected a Slurm job id such as 4711 \(or next\), received "abc"/,
    );
    expect(raysl(['check-ports', '--no-slurm', '--job-id', '4711']).code).toBe(0);
  });

  it('an env key __proto__ in a config file is refused, not dropped (and on the command line)', () => {
    const dir = project({
      'raysl.config.json': JSON.stringify({ profiles: { default: { env: { A: '1' } } } }).replace(
        '{"A"',
        '{"__proto__":"x","A"',
      ),
    });
    expectUsage(
      raysl(['render', '--no-check', 't.sh'], { cwd: dir }),
      /profiles\.default\.env: env: __proto__ cannot be an environment variable name/,
    );
    expectUsage(
      raysl(['render', '--no-check', '--env', '__proto__=1', 't.sh'], { cwd: project() }),
      /--env: __proto__ cannot be an environment variable name/,
    );
  });

  it("a job id that is neither Slurm's nor local-... says both forms", () => {
    const dir = project();
    expectUsage(
      raysl(['status', 'abc', '--job-dir', dir]),
      /expected a job id: a Slurm job id such as 1234, or a local one such as local-\d+-\d+; received "abc"/,
    );
  });
});

describe('Slurm not configured', () => {
  it("check-ports --json exits 3 and says exitCode 3 (not the failed command's 1, which means a collision)", () => {
    const r = raysl(['check-ports', '-w', 'node1', '--json'], { env: noSlurm });
    expect(r.code, r.stderr).toBe(3);
    const body = JSON.parse(r.stdout) as { error: { exitCode: number; commandExitCode: number; hint: string } };
    expect(body.error.exitCode).toBe(3);
    expect(body.error.commandExitCode).toBe(1);
    expect(body.error.hint).toMatch(/--local/);
  });

  it('a failed sbatch leaves no raysl-<stamp>.sbatch behind, and the error suggests --local', () => {
    const dir = project();
    const jobs = join(dir, 'jobs');
    for (let i = 0; i < 2; i++) {
      const r = raysl(['submit', '--no-check', '--job-dir', jobs, 't.sh'], { cwd: dir, env: noSlurm });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/hint: .*raysl run --local/);
    }
    expect(readdirSync(jobs).filter((f) => f.endsWith('.sbatch'))).toEqual([]);
  });
});

describe('read commands on a finished local job', () => {
  let jobRoot = '';
  let jobId = '';
  beforeAll(async () => {
    const job = runLocal(['-N', '1', join(fixtures, 'hello.sh')]);
    expect((await exitWithin(job, 20_000)).code, job.stderr()).toBe(0);
    jobRoot = job.jobRoot;
    jobId = job.status().jobId;
  }, 30_000);

  it('ls --all --json gives age in seconds (a number) and a timestamp; the Slurm line has no raw separators', () => {
    const r = raysl(['ls', '--all', '--json', '--job-dir', jobRoot], { env: noSlurm });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ id: string; age: number; since: string }>;
    const row = rows.find((x) => x.id === jobId)!;
    expect(typeof row.age).toBe('number');
    expect(row.age).toBeGreaterThanOrEqual(0);
    expect(Date.parse(row.since)).toBeLessThanOrEqual(Date.now());
    expect(r.stderr).toMatch(/Slurm not reachable/);
    expect(r.stderr).not.toMatch(/[\x1e\x1f]/);
  });

  it('logs without an id says on stderr which job it picked; logs --json is JSON', () => {
    const plain = raysl(['logs', '--job-dir', jobRoot]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain(`job ${jobId} (the newest in ${jobRoot}`);
    const json = raysl(['logs', jobId, '--json', '--job-dir', jobRoot]);
    expect(json.code, json.stderr).toBe(0);
    const body = JSON.parse(json.stdout) as { jobId: string; logs: Array<{ path: string; text: string }> };
    expect(body.jobId).toBe(jobId);
    expect(body.logs.map((l) => l.text).join('')).toBe(plain.stdout);
    const both = raysl(['logs', jobId, '--json', '--follow', '--job-dir', jobRoot]);
    expect(both.code).toBe(2);
    expect((JSON.parse(both.stdout) as { error: { message: string } }).error.message).toMatch(/--json with --follow/);
  });
});

describe("no argument of the user's reaches Node's own option parser (Node 20 reads --env-file=<f> from all of argv)", () => {
  it("bin/raysl ... --env-file=nosuch is raysl's unknown option (exit 2), not Node's exit 9", () => {
    const r = spawnSync(join(root, 'bin', 'raysl'), ['render', '--no-check', '--env-file=nosuch', 't.sh'], {
      cwd: project(),
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 10_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^raysl: error: unknown option '--env-file=nosuch'$/m);
  });

  it.each(['args.ts', 'args.mjs'])('an entrypoint %s gets --env-file=nosuch as its own argument', async (name) => {
    const dir = project({ [name]: 'console.log("argv " + JSON.stringify(process.argv.slice(2)));\n' });
    const job = runLocal(['-N', '1', join(dir, name), '--', '--env-file=nosuch', 'x']);
    expect((await exitWithin(job, 30_000)).code, job.stderr()).toBe(0);
    expect(job.stdout()).toContain('argv ["--env-file=nosuch","x"]');
  });
});

describe('"the cluster did not form" counts and names what happened', () => {
  it('--container-cmd false: both nodes failed (not one failed, one "still starting"); their empty logs are said to be empty, the hint is the wrapper', async () => {
    const job = runLocal(['-N', '2', '--container-cmd', 'false', join(fixtures, 'hello.sh')]);
    expect((await exitWithin(job, 30_000)).code, job.stderr()).toBe(4);
    const err = job.stderr();
    expect(err).toMatch(
      /raysl: error: the cluster did not form: 2 node\(s\) failed before joining; 0\/2 nodes joined; missing: node1 \(.*agent-node1\.log \(empty: the agent never started; the --container-cmd wrapper ended before running it/,
    );
    expect(err).toMatch(/node2 \(its agent exited before joining .*agent-node2\.log \(empty: /);
    expect(err).not.toMatch(/still starting/);
    expect(err).toMatch(/\n {2}hint: check the --container-cmd wrapper: it must run the command it is given/);
  });
});
