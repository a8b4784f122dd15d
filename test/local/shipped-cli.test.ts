/**
 * The CLI exactly as a user gets it (issue 16): `bin/raysl` (the bundle in dist/), once the packed
 * npm tarball installed into a prefix, run by bash with its output read through real pipes, as a
 * shell does: pipes smaller than the output, readers that close early, outputs over 1 MiB compared
 * byte for byte with a file write, --json parsed, every config format, every job flag under --local
 * (honoured or refused), and a job's files private to its owner (checked as user nobody).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobOptionTable, type JobOptionKey } from '../../src/core/job-options.js';
import { SLURM_ONLY } from '../../src/cli/local-flags.js';
import type { JobStatus } from '../../src/core/status.js';
import { notYetOnThrow, until } from '../support/until.js';
import { ensureBuilt, root } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);

const R = join(root, 'bin', 'raysl');
const work = mkdtempSync(join(tmpdir(), 'raysl-shipped-'));
// others may walk to the job dirs (so that "nobody cannot read them" is about their own modes)
chmodSync(work, 0o755);
writeFileSync(join(work, 'train.ts'), 'console.log("trained")\n');
writeFileSync(join(work, 'x.py'), 'print(1)\n');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** bash -c script, $R = bin/raysl; killed at the deadline (a hang fails the test). */
function sh(script: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv; ms?: number } = {}): Ran {
  const r = spawnSync('bash', ['-c', script], {
    cwd: opts.cwd ?? work,
    env: { ...process.env, NO_COLOR: '1', R, ...opts.env },
    encoding: 'utf8',
    timeout: opts.ms ?? 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status === null)
    throw new Error(
      `bash -c ${JSON.stringify(script.slice(0, 200))} did not end within ${opts.ms ?? 30_000} ms; stderr:\n${r.stderr}`,
    );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectUsage(r: Ran, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('raysl: error: '));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(message);
  expect(r.stderr.match(/^ {2}hint: \S/gm), r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at \S|Unhandled/);
}

function statusOf(dir: string): JobStatus {
  return JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as JobStatus;
}

/** Polls with backoff until pred holds (a file another process writes has no event for us). */
/** Waits for `get` to give a value; a throw is "not there yet". */
function eventually<T>(what: string, get: () => T | undefined, ms = 30_000): Promise<T> {
  return until(what, notYetOnThrow(get), ms, { intervalMs: 10, maxIntervalMs: 200 });
}

function onlyJob(jobRoot: string): string {
  const dirs = readdirSync(jobRoot).filter((d) => d.startsWith('local-'));
  if (dirs.length !== 1) throw new Error(`expected one job in ${jobRoot}: ${dirs.join(', ')}`);
  return join(jobRoot, dirs[0]!);
}

describe('output through pipes: whole, whatever its size, for every command', () => {
  it('hostnames of 65536 hosts through a pipe: 65536 lines (a 64 KiB pipe cut it at 10948)', () => {
    const r = sh(`"$R" hostnames 'n[1-65536]' | wc -l`);
    expect([r.code, r.stdout.trim()]).toEqual([0, '65536']);
  });

  it('over 1 MiB: the same bytes through a slow pipe as into a file', () => {
    const expr = 'aaaaaaaaaa[1-65536],bbbbbbbbbb[1-65536]';
    const r = sh(
      `"$R" hostnames '${expr}' > file.txt && "$R" hostnames '${expr}' | (sleep 0.3; cat) > pipe.txt && cmp file.txt pipe.txt && wc -c < pipe.txt`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(1024 * 1024);
    const names = readFileSync(join(work, 'pipe.txt'), 'utf8').trimEnd().split('\n');
    expect(names).toHaveLength(2 * 65536);
    expect([names[0], names.at(-1)]).toEqual(['aaaaaaaaaa1', 'bbbbbbbbbb65536']);
  });

  it('render of a script over 1 MiB through a pipe: whole, and the value arrives exactly (its plan parses)', () => {
    // one argument may not pass 128 KiB (MAX_ARG_STRLEN): nine values of 100 kB
    const value = 'v'.repeat(100_000) + '\'$(x)"';
    writeFileSync(join(work, 'big.env'), value);
    const envs = Array.from({ length: 9 }, (_, i) => `--env "BIG${i}=$(cat big.env)"`).join(' ');
    const r = sh(
      `"$R" render --no-check -N 2 ${envs} train.ts 2>/dev/null > a.sh && "$R" render --no-check -N 2 ${envs} train.ts 2>/dev/null | cat > b.sh && cmp a.sh b.sh && wc -c < b.sh`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(1024 * 1024);
    const script = readFileSync(join(work, 'b.sh'), 'utf8');
    const plan = JSON.parse(script.split('\n').at(-3)!) as { env: Record<string, string> };
    expect(Object.values(plan.env)).toEqual(Array(9).fill(value));
    expect(spawnSync('bash', ['-n', join(work, 'b.sh')]).status).toBe(0);
  });

  it('render --json of a large plan through a pipe parses', () => {
    const big = (k: string) => `--env "${k}=$(head -c 100000 /dev/zero | tr '\\0' x)"`;
    const r = sh(`"$R" render --json --no-check -N 2 ${big('A')} ${big('B')} train.ts 2>/dev/null | cat`);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { plan: { env: { B: string } } }).plan.env.B).toHaveLength(100_000);
  });

  it('an error longer than a pipe keeps its hint', () => {
    const r = sh(`"$R" render -N "$(head -c 120000 /dev/zero | tr '\\0' 7)x" train.ts 2>&1 | cat`);
    expect(r.stdout).toMatch(/^raysl: error: --nodes/);
    expect(r.stdout).toMatch(/\n {2}hint: \S.*\n$/);
  });

  it('a reader that closes early: raysl exits 0, quietly (no EPIPE, no stack)', () => {
    const r = sh(
      `"$R" hostnames 'aaaaaaaaaa[1-65536],bbbbbbbbbb[1-65536]' 2>err.txt | head -1; echo "raysl=\${PIPESTATUS[0]}"`,
    );
    expect(r.stdout).toBe('aaaaaaaaaa1\nraysl=0\n');
    expect(readFileSync(join(work, 'err.txt'), 'utf8')).toBe('');
  });
});

describe('a running job outlives a reader that closes early', () => {
  it('run --local | head -1: the job goes on to succeeded, raysl exits with its code', () => {
    const jobRoot = mkdtempSync(join(work, 'head-'));
    const r = sh(
      `"$R" run --local -N 2 --job-dir "${jobRoot}" "${join(root, 'examples', 'train.ts')}" 2>/dev/null | head -1; echo "raysl=\${PIPESTATUS[0]}"`,
      { ms: 60_000 },
    );
    expect(r.stdout).toMatch(/\nraysl=0\n$/);
    const s = statusOf(onlyJob(jobRoot));
    expect([s.state, s.exitCode]).toEqual(['succeeded', 0]);
  });

  it('up --local 2>&1 | head -1: the cluster keeps holding; exec runs on it; down ends it cleanly', async () => {
    const jobRoot = mkdtempSync(join(work, 'uphead-'));
    const bash = spawnSync(
      'bash',
      [
        '-c',
        `("$R" up --local -N 2 --job-dir "${jobRoot}" 2>&1 | head -1 > id.txt; echo "\${PIPESTATUS[0]}" > up-exit.txt) > /dev/null 2>&1 &`,
      ],
      { cwd: jobRoot, env: { ...process.env, R }, encoding: 'utf8' },
    );
    expect(bash.status).toBe(0);
    const dir = await eventually('the job dir', () =>
      readdirSync(jobRoot).some((d) => d.startsWith('local-')) ? onlyJob(jobRoot) : undefined,
    );
    const jobId = dir.slice(dir.lastIndexOf('/') + 1);
    await eventually('holding', () => (statusOf(dir).timeline.some((e) => e.phase === 'holding') ? true : undefined));
    // the reader took its line and left; the controller writes on (progress lines) into a closed pipe
    await eventually('head took its line', () =>
      readFileSync(join(jobRoot, 'id.txt'), 'utf8') !== '' ? true : undefined,
    );
    const exec = sh(`"$R" exec --job-dir "${jobRoot}" ${jobId} -- echo still-here`);
    expect([exec.code, exec.stdout], exec.stderr).toEqual([0, 'still-here\n']);
    expect(statusOf(dir).state).toBe('running');
    const down = sh(`"$R" down --job-dir "${jobRoot}" ${jobId}`);
    expect(down.code, down.stderr).toBe(0);
    const s = await eventually('final', () => (statusOf(dir).state === 'succeeded' ? statusOf(dir) : undefined));
    expect(s.exitCode).toBe(0);
    expect(
      await eventually('up exited', () => readFileSync(join(jobRoot, 'up-exit.txt'), 'utf8').trim() || undefined),
    ).toBe('0');
  }, 60_000);
});

describe("--version is raysl's own option only", () => {
  it('alone (and with global flags): the version', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const argv of ['--version', '-V', '--json --version', '-V --no-color'])
      expect(sh(`"$R" ${argv}`)).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it.each([
    ['after the entrypoint', 'submit --no-check --job-dir jobs-v train.ts --version'],
    ['with a command', 'render --no-check -V train.ts'],
    ['as an option value', 'submit --no-check --job-dir jobs-v -J --version train.ts'],
    ['as the value of --setup', 'run --local --job-dir jobs-v --setup --version train.ts'],
  ])('%s: refused, nothing submitted or started', (_what, argv) => {
    expectUsage(sh(`"$R" ${argv}`), /--version|-V/);
    expect(existsSync(join(work, 'jobs-v'))).toBe(false);
  });

  it("after --, it is the entrypoint's", () => {
    const r = sh(`"$R" render --no-check train.ts -- --version`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# entrypoint: .*train\.ts --version$/m);
  });
});

describe('every config format loads from the bundle', () => {
  const cases: Array<[string, string, string]> = [
    ['raysl.config.json', '{"profiles": {"default": {"nodes": 3}}}', 'project JSON'],
    ['raysl.config.yaml', 'profiles:\n  default:\n    nodes: 3\n', 'project YAML'],
    ['raysl.config.yml', 'profiles: {default: {nodes: 3}}\n', 'project .yml'],
    ['.cfg/raysl/config.yaml', 'profiles:\n  default:\n    nodes: 3\n', 'user YAML ($XDG_CONFIG_HOME)'],
    ['.cfg/raysl/config.json', '{"profiles": {"default": {"nodes": 3}}}', 'user JSON'],
  ];
  it.each(cases)('%s (%s)', (file, text) => {
    const dir = mkdtempSync(join(work, 'cfg-'));
    mkdirSync(join(dir, '.cfg', 'raysl'), { recursive: true });
    writeFileSync(join(dir, file), text);
    writeFileSync(join(dir, 't.ts'), '');
    const r = sh(`"$R" render --no-check t.ts`, { cwd: dir, env: { XDG_CONFIG_HOME: join(dir, '.cfg') } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^#SBATCH --nodes=3$/m);
  });

  it("a YAML syntax error is the user's: exit 2, one line, a YAML hint", () => {
    const dir = mkdtempSync(join(work, 'cfg-'));
    writeFileSync(join(dir, 'raysl.config.yaml'), 'profiles:\n  default:\n   nodes: [\n');
    writeFileSync(join(dir, 't.ts'), '');
    const r = sh(`"$R" render --no-check t.ts`, { cwd: dir });
    expectUsage(r, /raysl\.config\.yaml: not valid YAML: .*line \d+/);
    expect(r.stderr).toMatch(/hint: .*YAML/);
  });
});

describe('every read command once with --json, parsed', () => {
  const jobRoot = join(work, 'json-jobs');
  let jobId = '';
  beforeAll(() => {
    const r = sh(`"$R" run --local -N 1 --job-dir json-jobs train.ts`, { ms: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    jobId = onlyJob(jobRoot).split('/').at(-1)!;
  }, 90_000);

  it.each([
    ['hostnames', () => `hostnames --json 'n[1-3]'`, (j: unknown) => expect(j).toEqual(['n1', 'n2', 'n3'])],
    [
      'hostlist',
      () => `hostlist --json n1 n2 n3`,
      (j: unknown) => expect(j).toMatchObject({ hostlist: 'n[1-3]', count: 3 }),
    ],
    [
      'render',
      () => `render --json --no-check train.ts`,
      (j: unknown) => expect(j).toMatchObject({ plan: { version: 1 } }),
    ],
    [
      'submit --dry-run',
      () => `submit --json --dry-run --no-check train.ts`,
      (j: unknown) => expect(j).toMatchObject({ argv: ['sbatch', '--parsable', expect.any(String)] }),
    ],
    [
      'up --local --dry-run',
      () => `up --local --dry-run --json`,
      (j: unknown) => expect(j).toMatchObject({ plan: { entrypoint: null }, nodes: ['node1'] }),
    ],
    [
      'status',
      () => `status --json --job-dir json-jobs ${jobId}`,
      (j: unknown) => expect(j).toMatchObject({ jobId, state: 'succeeded' }),
    ],
    ['ls', () => `ls --json --all --job-dir json-jobs`, (j: unknown) => expect(JSON.stringify(j)).toContain(jobId)],
  ])('%s', (_name, argv, check) => {
    const r = sh(`"$R" ${argv()} | cat`);
    expect(r.code, r.stderr).toBe(0);
    check(JSON.parse(r.stdout));
  });

  it('an error under --json is JSON on stdout with its hint', () => {
    const r = sh(`"$R" status --json --job-dir json-jobs local-1-1 | cat`);
    const e = (JSON.parse(r.stdout) as { error: { message: string; hint: string; exitCode: number } }).error;
    expect([e.exitCode, e.message.length > 0, e.hint.length > 0]).toEqual([2, true, true]);
  });
});

/** A value each job flag accepts, and what a dry-run plan must then say (undefined: Slurm-only, refused). */
interface LocalCase {
  argv: string[];
  /** What the dry-run plan must say; undefined: refused. */
  plan?: (p: Record<string, unknown>) => void;
  /** Honoured only where an entrypoint runs: a real `run --local` with these flags, then this check. */
  live?: (r: Ran) => void;
  /** The flags in argv this one needs (its effect is compared against them alone). */
  partner?: string[];
}
const localCases: Record<JobOptionKey, LocalCase> = {
  nodes: { argv: ['-N', '3'], plan: (p) => expect(p.nodes).toBe(3) },
  minNodes: { argv: ['-N', '3', '--min-nodes', '2'], partner: ['-N', '3'], plan: (p) => expect(p.minNodes).toBe(2) },
  partition: { argv: ['-p', 'gpu'] },
  time: { argv: ['-t', '0:30'], plan: (p) => expect(p.preempt).toMatchObject({ warnSec: 30 }) },
  account: { argv: ['-A', 'proj'] },
  qos: { argv: ['-q', 'high'] },
  jobName: { argv: ['-J', 'named'], plan: (p) => expect(p.jobName).toBe('named') },
  gpusPerNode: { argv: ['--gpus-per-node', '2'], plan: (p) => expect(p.perNode).toMatchObject({ gpus: 2 }) },
  headCpusOnly: {
    argv: ['--gpus-per-node', '1', '--head-cpus-only'],
    partner: ['--gpus-per-node', '1'],
    plan: (p) => expect(p.hetjob).toHaveLength(2),
  },
  cpusPerTask: { argv: ['-c', '2'], plan: (p) => expect(p.perNode).toMatchObject({ cpus: 2 }) },
  mem: { argv: ['--mem', '1G'], plan: (p) => expect(p.perNode).toMatchObject({ memoryMb: 1024 }) },
  exclusive: { argv: ['--exclusive'] },
  constraint: { argv: ['-C', 'a100'] },
  reservation: { argv: ['--reservation', 'r1'] },
  output: { argv: ['-o', 'x.out'] },
  sbatchArgs: { argv: ['--sbatch-arg=--mail-type=END'] },
  runtime: { argv: ['--runtime', 'builtin'], plan: (p) => expect(p.runtime).toBe('builtin') },
  joinTimeout: { argv: ['--join-timeout', '9'], plan: (p) => expect(p.joinTimeoutSec).toBe(9) },
  jobDir: { argv: ['--job-dir', 'elsewhere'], plan: (p) => expect(p.jobDir).toBe(join(work, 'elsewhere')) },
  setup: { argv: ['--setup', 'export A=1'], plan: (p) => expect(p.setup).toEqual(['export A=1']) },
  env: { argv: ['--env', 'K=v w'], plan: (p) => expect(p.env).toEqual({ K: 'v w' }) },
  // the interpreter of a .py entrypoint: a stand-in that says how it was called
  python: {
    argv: ['-N', '1', '--runtime', 'builtin', '--python', join(work, 'fakepy'), 'x.py'],
    partner: ['-N', '1', '--runtime', 'builtin'],
    live: (r) => expect(r.stdout).toBe(`fakepy -u ${join(work, 'x.py')}\n`),
  },
  iface: { argv: ['--iface', 'lo'], plan: (p) => expect(p.iface).toBe('lo') },
  continueOnNodeLoss: { argv: ['--continue-on-node-loss'], plan: (p) => expect(p.continueOnNodeLoss).toBe(true) },
  rayAuth: { argv: ['--ray-auth', 'off'], plan: (p) => expect(p.rayAuth).toBe('off') },
  resources: { argv: ['--resources', '{"trainer": 1}'], plan: (p) => expect(p.resources).toHaveLength(1) },
  preflight: { argv: ['--preflight'], plan: (p) => expect(p.preflight).toBeDefined() },
  preflightMin: { argv: ['--preflight-min', 'shm=2G'], plan: (p) => expect(p.preflight).toBeDefined() },
  containerImage: { argv: ['--container-image', 'nvcr.io#nvidia/pytorch:24.01-py3'] },
  containerCmd: { argv: ['--container-cmd', 'env'], plan: (p) => expect(p.container).toEqual({ cmd: ['env'] }) },
  preemptGrace: {
    argv: ['-t', '1:00', '--preempt-grace', '20'],
    partner: ['-t', '1:00'],
    plan: (p) => expect(p.preempt).toMatchObject({ warnSec: 20 }),
  },
  preemptSignal: {
    argv: ['-t', '1:00', '--preempt-signal', 'INT'],
    partner: ['-t', '1:00'],
    plan: (p) => expect(p.preempt).toMatchObject({ signal: 'SIGINT' }),
  },
  requeue: { argv: ['--requeue'] },
  maxRestarts: { argv: ['--requeue', '--max-restarts', '2'], partner: ['--requeue'] },
  maxNodes: { argv: ['--max-nodes', '4'] },
  idleTimeout: { argv: ['--max-nodes', '4', '--idle-timeout', '30'], partner: ['--max-nodes', '4'] },
  scaleUpDelay: { argv: ['--max-nodes', '4', '--scale-up-delay', '0'], partner: ['--max-nodes', '4'] },
};

describe('every job flag under --local: honoured as on Slurm, or refused', () => {
  it('the table names every job option and the refused ones are exactly the Slurm-only ones (plus the pyxis image)', () => {
    expect(Object.keys(localCases).sort()).toEqual(jobOptionTable.map((r) => r.key).sort());
    const refused = (Object.keys(localCases) as JobOptionKey[]).filter(
      (k) => localCases[k].plan === undefined && localCases[k].live === undefined,
    );
    expect(refused.sort()).toEqual([...Object.keys(SLURM_ONLY), 'containerImage'].sort());
  });

  it.each(jobOptionTable.map((r) => [r.key] as const))('%s', (key) => {
    const c = localCases[key];
    const quoted = c.argv.map((a) => `'${a}'`).join(' ');
    if (c.live !== undefined) {
      writeFileSync(join(work, 'fakepy'), '#!/bin/bash\necho "fakepy $*"\n');
      chmodSync(join(work, 'fakepy'), 0o755);
      const r = sh(`"$R" run --local --job-dir live-jobs ${quoted}`, { ms: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      c.live(r);
      return;
    }
    if (c.plan === undefined) {
      expectUsage(sh(`"$R" up --local --dry-run ${quoted}`), /--local has no (Slurm to ask|srun)/);
      return;
    }
    const r = sh(`"$R" up --local --dry-run --json ${quoted}`);
    expect(r.code, r.stderr).toBe(0);
    c.plan((JSON.parse(r.stdout) as { plan: Record<string, unknown> }).plan);
  });

  it('a Slurm-only value from a config profile is named in a warning and left out, not refused', () => {
    const dir = mkdtempSync(join(work, 'cfg-'));
    writeFileSync(join(dir, 'raysl.config.json'), '{"profiles": {"default": {"partition": "debug"}}}');
    const r = sh(`"$R" up --local --dry-run --json`, { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/raysl: warning: the config profile's partition is ignored under --local/);
  });

  it('--setup runs before the runtime and the entrypoint, in bash, and its environment is theirs', () => {
    writeFileSync(join(work, 'show.sh'), '#!/bin/bash\necho "A=$A FROM_PATH=$(command -v raysl-setup-tool)"\n');
    chmodSync(join(work, 'show.sh'), 0o755);
    mkdirSync(join(work, 'toolbin'), { recursive: true });
    writeFileSync(join(work, 'toolbin', 'raysl-setup-tool'), '#!/bin/sh\n');
    chmodSync(join(work, 'toolbin', 'raysl-setup-tool'), 0o755);
    const r = sh(
      `"$R" run --local -N 2 --job-dir setup-jobs --setup 'export A="set up"' --setup 'export PATH="$PWD/toolbin:$PATH"' --setup 'echo setup-said-this' show.sh`,
      { ms: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`A=set up FROM_PATH=${join(work, 'toolbin', 'raysl-setup-tool')}\n`);
    expect(r.stderr).toMatch(/^setup-said-this$/m);
  });

  it("--runtime ray with --setup 'source <venv>/bin/activate': Ray is found through the setup's PATH, as on Slurm", () => {
    const venvBin = inject('rayVenvBin');
    const env = {
      PATH: (process.env.PATH ?? '')
        .split(':')
        .filter((d) => d !== venvBin)
        .join(':'),
      RAYSL_RAY_BIN: '',
    };
    // without the setup there is no ray here: the test shows the setup's environment is the job's
    expect(sh('command -v ray', { env }).code).not.toBe(0);
    const r = sh(
      `"$R" run --local -N 1 --runtime ray --job-dir ray-setup --setup 'source "${venvBin}/activate"' "${join(root, 'examples', 'train.py')}"`,
      { env, ms: 180_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(statusOf(onlyJob(join(work, 'ray-setup')))).toMatchObject({ state: 'succeeded', runtime: 'ray' });
  }, 200_000);

  it('a failing --setup line ends the job before anything starts, with its code and a hint', () => {
    const r = sh(`"$R" run --local --job-dir setup-fail --setup 'exit 7' show.sh`);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/raysl: error: --setup failed with exit 7/);
    expect(r.stderr).toMatch(/\n {2}hint: \S/);
    expect(existsSync(join(work, 'setup-fail')) && readdirSync(join(work, 'setup-fail')).length > 0).toBe(false);
  });

  it('-t ends a held cluster at its limit as Slurm would: the warning, then preempted (exit 6), nothing left', () => {
    const t0 = Date.now();
    const r = sh(`"$R" up --local -N 2 --job-dir time-jobs -t 0:15 --preempt-grace 12`, { ms: 30_000 });
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/received SIGUSR2/);
    const s = statusOf(onlyJob(join(work, 'time-jobs')));
    expect(s.state).toBe('preempted');
    // it held first (the warning is due 3 s in), and did not run to the limit (15 s)
    expect(s.timeline.map((e) => e.phase)).toContain('holding');
    expect(took).toBeGreaterThan(3000);
    expect(took).toBeLessThan(15_000);
  });

  it('up --local --wait returns once the cluster holds; the cluster runs on until down', () => {
    const r = sh(`"$R" up --local -N 2 --wait --json --job-dir wait-jobs`, { ms: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { jobId: string; holding: boolean; state: string; controllerPid?: number };
    try {
      expect([out.holding, out.state]).toEqual([true, 'holding']);
      const exec = sh(`"$R" exec --job-dir wait-jobs ${out.jobId} -- echo on-it`);
      expect([exec.code, exec.stdout]).toEqual([0, 'on-it\n']);
      const down = sh(`"$R" down --job-dir wait-jobs ${out.jobId}`);
      expect(down.code, down.stderr).toBe(0);
      expect(statusOf(join(work, 'wait-jobs', out.jobId)).state).toBe('succeeded');
    } finally {
      // a failed check must not leave the background cluster holding
      if (out.controllerPid !== undefined) {
        try {
          process.kill(out.controllerPid, 'SIGTERM');
        } catch {
          // already gone: down ended it
        }
      }
    }
  });

  it('up --local --dry-run starts nothing', () => {
    const r = sh(`"$R" up --local -N 2 --dry-run --job-dir dry-jobs`);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { nodes: number }).nodes).toBe(2);
    expect(existsSync(join(work, 'dry-jobs'))).toBe(false);
  });

  it('--container-cmd with a wrapper that is not installed: one error and a hint, nothing started', () => {
    const r = sh(
      `"$R" run --local -N 1 --job-dir wrap-jobs --container-cmd 'apptainer-not-here exec img.sif' train.ts`,
    );
    expectUsage(r, /--container-cmd: apptainer-not-here is not on PATH/);
  });

  it('--container-cmd with a wrapper that cannot start: the cluster did not form (4), status failed, the agent log says why', () => {
    writeFileSync(join(work, 'badwrap'), '#!/nonexistent/interpreter\n');
    chmodSync(join(work, 'badwrap'), 0o755);
    const r = sh(`"$R" run --local -N 2 --job-dir badwrap-jobs --container-cmd ./badwrap train.ts`);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).not.toMatch(/Unhandled|\n\s+at \S/);
    expect(r.stderr).toMatch(/\n {2}hint: \S/);
    const dir = onlyJob(join(work, 'badwrap-jobs'));
    expect(statusOf(dir).state).toBe('failed');
    expect(readFileSync(join(dir, 'agent-node1.log'), 'utf8')).toMatch(
      /cannot start its agent: spawn \.\/badwrap ENOENT/,
    );
  });
});

describe('every job flag for Slurm (render, as submit renders it): accepted and not ignored', () => {
  // what each flag does on the cluster is the Slurm tier's business (test/slurm/); here: the plan it
  // changes, so no flag is accepted and dropped on the way to the script
  const plan = (argv: string[]): string => {
    const r = sh(`"$R" render --json --no-check ${argv.map((a) => `'${a}'`).join(' ')} x.py`);
    expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
    const out = JSON.parse(r.stdout) as { plan: Record<string, unknown>; script: string };
    expect(spawnSync('bash', ['-n'], { input: out.script }).status).toBe(0);
    return JSON.stringify({ ...out.plan, warnings: [] });
  };
  const base = plan([]);
  it.each(jobOptionTable.map((r) => [r.key] as const))('%s', (key) => {
    const c = localCases[key];
    const argv = c.argv.filter((a) => a !== 'x.py');
    // a flag that needs another (--min-nodes needs -N 3) is compared with the other alone
    const without = c.partner ? plan(c.partner) : base;
    expect(plan(argv)).not.toBe(without);
  });
});

describe("a job's files are its owner's", () => {
  const secret = `s3cret-${process.pid}-${Date.now()}`;
  const asNobody = (script: string) =>
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', script], {
      encoding: 'utf8',
      timeout: 10_000,
    });

  it('no process of a running job carries an --env value on its command line; others read nothing of the job dir', async () => {
    writeFileSync(join(work, 'hold.sh'), '#!/bin/bash\nwhile [ ! -e "$1" ]; do sleep 0.05; done\n');
    chmodSync(join(work, 'hold.sh'), 0o755);
    const go = join(work, `go-${process.pid}`);
    const jobRoot = join(work, 'secret-jobs');
    // --env KEY: the value comes from raysl's environment, so not even raysl's own command line has it
    const bash = spawnSync(
      'bash',
      ['-c', `"$R" run --local -N 2 --job-dir secret-jobs --env API_KEY hold.sh -- "${go}" > secret-run.out 2>&1 &`],
      { cwd: work, env: { ...process.env, R, API_KEY: secret }, encoding: 'utf8' },
    );
    expect(bash.status).toBe(0);
    const dir = await eventually('the job running', () =>
      existsSync(jobRoot) && statusOf(onlyJob(jobRoot)).state === 'running' ? onlyJob(jobRoot) : undefined,
    );
    // every process on this machine, the job's included (controller, agents, entrypoint)
    const carriers: string[] = [];
    let jobProcs = 0;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`API_KEY=${secret}`)) jobProcs++;
        if (cmdline.includes(secret)) carriers.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
      } catch {
        // gone
      }
    }
    // raysl itself (the controller), two agents, the entrypoint: the value is in their environments
    expect(jobProcs).toBeGreaterThanOrEqual(4);
    expect(carriers).toEqual([]);

    // modes: the dir 0700, every file 0600
    expect(statSync(dir).mode & 0o7777).toBe(0o700);
    for (const f of readdirSync(dir))
      expect([f, statSync(join(dir, f)).mode & 0o777]).toEqual([
        f,
        statSync(join(dir, f)).isDirectory() ? 0o700 : 0o600,
      ]);
    expect(readFileSync(join(dir, 'plan.json'), 'utf8')).toContain(secret);
    // another user: the job dir root is open to walk (the control file proves it), the job dir is not
    writeFileSync(join(jobRoot, 'control.txt'), 'readable');
    chmodSync(join(jobRoot, 'control.txt'), 0o644);
    chmodSync(jobRoot, 0o755);
    expect(asNobody(`cat '${join(jobRoot, 'control.txt')}'`).stdout).toBe('readable');
    for (const f of ['plan.json', 'status.json', 'controller.log', 'entrypoint.log', 'agent-node1.log', 'token']) {
      const r = asNobody(`cat '${join(dir, f)}'`);
      expect([f, r.status, r.stdout]).toEqual([f, 1, '']);
    }
    expect(asNobody(`ls '${dir}'`).status).not.toBe(0);
    writeFileSync(go, '');
    await eventually('the job ended', () => (statusOf(dir).state === 'succeeded' ? true : undefined));
  }, 60_000);

  it('submit --dry-run and render put the value in the script only (stdout), never on the exec line', () => {
    const r = sh(`"$R" render --no-check --env "API_KEY=${secret}" train.ts`);
    expect(r.code, r.stderr).toBe(0);
    const exec = r.stdout.split('\n').find((l) => l.startsWith('exec '))!;
    expect(exec).toMatch(/controller --plan-from - <<'RAYSL_PLAN'$/);
    expect(exec).not.toContain(secret);
  });
});

describe('the packed npm tarball, installed', () => {
  const prefix = mkdtempSync(join(tmpdir(), 'raysl-npm-'));
  let bin = '';
  beforeAll(() => {
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', prefix], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(pack.status, pack.stderr).toBe(0);
    const tgz = join(prefix, pack.stdout.trim().split('\n').at(-1)!);
    const install = spawnSync(
      'npm',
      ['i', '-g', '--prefix', join(prefix, 'p'), tgz, '--offline', '--no-audit', '--no-fund'],
      { cwd: prefix, encoding: 'utf8', timeout: 180_000 },
    );
    expect(install.status, install.stderr).toBe(0);
    bin = join(prefix, 'p', 'bin', 'raysl');
  }, 240_000);
  afterAll(() => spawnSync('rm', ['-rf', prefix]));

  it('runs: version, a pipe of 65536 lines, a YAML config, a local job from its own examples', () => {
    const env = { R: bin };
    expect(sh(`"$R" --version`, { env }).code).toBe(0);
    expect(sh(`"$R" hostnames 'n[1-65536]' | wc -l`, { env }).stdout.trim()).toBe('65536');
    const dir = mkdtempSync(join(work, 'npm-'));
    writeFileSync(join(dir, 'raysl.config.yaml'), 'profiles:\n  default:\n    nodes: 2\n');
    const train = join(prefix, 'p', 'lib', 'node_modules', 'raysl', 'examples', 'train.ts');
    const r = sh(`"$R" run --local --job-dir jobs "${train}" 2>/dev/null | head -1; echo "raysl=\${PIPESTATUS[0]}"`, {
      cwd: dir,
      env,
      ms: 60_000,
    });
    expect(r.stdout).toMatch(/\nraysl=0\n$/);
    const s = statusOf(onlyJob(join(dir, 'jobs')));
    expect([s.state, s.nodes.length]).toEqual(['succeeded', 2]);
  }, 90_000);
});
