import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import {
  buildSpec,
  inputFromFlags,
  jobOptionTable,
  mergeInputs,
  parseMemMb,
  parseTimeLimit,
  resolvePath,
  validateSbatchArg,
} from '../../src/core/spec.js';
import { addJobOptions } from '../../src/cli/job-options.js';
import { profileSchema } from '../../src/core/config.js';
import { attributeOf } from '../../src/core/job-options.js';
import type { JobOptions } from '../../src/core/types.js';

/** Every key of JobOptions, written out here: the compiler refuses a missing or an extra key, so this is the real key set. */
const JOB_OPTION_KEYS: { [K in keyof Required<JobOptions>]: true } = {
  nodes: true,
  minNodes: true,
  partition: true,
  time: true,
  account: true,
  qos: true,
  jobName: true,
  gpusPerNode: true,
  cpusPerTask: true,
  mem: true,
  exclusive: true,
  constraint: true,
  reservation: true,
  output: true,
  sbatchArgs: true,
  runtime: true,
  joinTimeout: true,
  jobDir: true,
  setup: true,
  env: true,
  python: true,
  iface: true,
  continueOnNodeLoss: true,
  rayAuth: true,
  resources: true,
  preflight: true,
  preflightMin: true,
  containerImage: true,
  containerCmd: true,
  preemptGrace: true,
  preemptSignal: true,
  requeue: true,
  maxRestarts: true,
  headCpusOnly: true,
  maxNodes: true,
  idleTimeout: true,
  scaleUpDelay: true,
};
const EVERY_JOB_OPTION = Object.keys(JOB_OPTION_KEYS) as (keyof JobOptions)[];

/** Parses argv with the real job flags, runs nothing. */
function parse(argv: string[]): { opts: Record<string, unknown>; args: string[] } {
  const cmd = addJobOptions(new Command('t').argument('<entrypoint>').argument('[args...]').exitOverride());
  cmd.parse(argv, { from: 'user' });
  return { opts: cmd.opts(), args: cmd.args };
}

describe('option table', () => {
  it('has exactly one row per JobOptions key; the CLI flags and the config schema cover exactly those keys', () => {
    const tableKeys = jobOptionTable.map((r) => r.key);
    expect(new Set(tableKeys).size).toBe(tableKeys.length);
    expect([...tableKeys].sort()).toEqual([...EVERY_JOB_OPTION].sort());
    // the CLI: every job flag commander knows maps back to exactly one key, and no key lacks a flag
    const cmd = addJobOptions(new Command('t'));
    const notJobFlags = new Set(['profile', 'check']);
    const flagAttrs = cmd.options.map((o) => o.attributeName()).filter((a) => !notJobFlags.has(a));
    expect(new Set(flagAttrs).size).toBe(flagAttrs.length);
    expect(
      flagAttrs.map((a) => EVERY_JOB_OPTION.find((k) => attributeOf(k) === a) ?? `(no key for --${a})`).sort(),
    ).toEqual([...EVERY_JOB_OPTION].sort());
    const longs = jobOptionTable.map((r) => r.flags.match(/--[a-z-]+/)![0]);
    expect(new Set(longs).size).toBe(longs.length);
    // the config file: a profile accepts exactly these keys (strict: anything else is refused)
    expect(Object.keys(profileSchema().shape).sort()).toEqual([...EVERY_JOB_OPTION].sort());
    expect(profileSchema().safeParse({ notAnOption: 1 }).success).toBe(false);
  });

  it('parses sbatch-style flags into typed values', () => {
    const { opts, args } = parse([
      '-N',
      '4',
      '--gpus-per-node',
      '8',
      '-p',
      'gpu',
      '-t',
      '2:00:00',
      '-c',
      '96',
      '--mem',
      '64G',
      '--exclusive',
      'train.ts',
      '--',
      '--epochs',
      '3',
    ]);
    expect(args).toEqual(['train.ts', '--epochs', '3']);
    expect(inputFromFlags(opts)).toEqual({
      nodes: 4,
      gpusPerNode: 8,
      partition: 'gpu',
      time: '2:00:00',
      cpusPerTask: 96,
      mem: '64G',
      exclusive: true,
    });
  });

  it('--ray-auth takes token or off; anything else is a usage error with a hint; RAY_AUTH_* cannot come in through --env', () => {
    expect(inputFromFlags(parse(['--ray-auth', 'off', 'e.py']).opts)).toEqual({ rayAuth: 'off' });
    expect(inputFromFlags(parse(['--ray-auth', 'token', 'e.py']).opts)).toEqual({ rayAuth: 'token' });
    expect(() => inputFromFlags(parse(['--ray-auth', 'none', 'e.py']).opts)).toThrow(
      /--ray-auth: expected token or off, received "none"/,
    );
    for (const key of ['RAY_AUTH_MODE', 'RAY_AUTH_TOKEN', 'RAY_AUTH_TOKEN_PATH']) {
      expect(() => inputFromFlags(parse(['--env', `${key}=x`, 'e.py']).opts)).toThrow(
        new RegExp(`${key} is set by Slurm or raysl`),
      );
    }
  });

  it('collects repeatable flags in order, including values that start with a dash', () => {
    const { opts } = parse([
      '--setup',
      'module load cuda',
      '--setup',
      'source venv/bin/activate',
      '--sbatch-arg',
      '--mail-type=END',
      '--sbatch-arg=--comment=a b',
      '--env',
      'A=1',
      '--env',
      'B=x=y',
      'e.py',
    ]);
    expect(inputFromFlags(opts)).toEqual({
      setup: ['module load cuda', 'source venv/bin/activate'],
      sbatchArgs: ['--mail-type=END', '--comment=a b'],
      env: { A: '1', B: 'x=y' },
    });
  });

  it('reads --no-check and --profile without turning them into job input', () => {
    const { opts } = parse(['--no-check', '--profile', 'gpu', 'e.py']);
    expect(opts.check).toBe(false);
    expect(opts.profile).toBe('gpu');
    expect(inputFromFlags(opts)).toEqual({});
  });

  it.each([
    [['-N', '0'], /--nodes: expected a whole number from 1 to 65536, received "0"/],
    [['-N', 'four'], /--nodes: expected a whole number from 1 to 65536/],
    [['--gpus-per-node', '-1'], /--gpus-per-node/],
    [['-t', '2h'], /--time: expected MM, MM:SS/],
    [['--mem', '64GiB'], /--mem: expected a size/],
    [['--runtime', 'spark'], /--runtime: expected auto, ray or builtin, received "spark"/],
    [['--env', '1X=2'], /--env: expected KEY=VALUE/],
    [['--env', 'NOVALUE'], /--env: expected KEY=VALUE/],
    [['--env', 'CUDA_VISIBLE_DEVICES=0'], /set by Slurm or raysl/],
    [['--env', 'SLURM_NTASKS=3'], /set by Slurm or raysl/],
    [['-J', 'a\nb'], /--job-name must be a single line/],
    [['--setup', 'a\nrm -rf ~'], /--setup must be a single line/],
    [['-p', ''], /--partition: expected a non-empty value/],
  ])('refuses %j', (argv, message) => {
    const { opts } = parse([...argv, 'e.py']);
    expect(() => inputFromFlags(opts)).toThrow(UsageError);
    expect(() => inputFromFlags(opts)).toThrow(message);
  });
});

describe('parseTimeLimit', () => {
  it.each([
    ['30', 1800],
    ['30:15', 1815],
    ['2:00:00', 7200],
    ['1-0', 86400],
    ['1-12', 86400 + 12 * 3600],
    ['1-02:30', 86400 + 2 * 3600 + 30 * 60],
    ['1-02:30:05', 86400 + 2 * 3600 + 30 * 60 + 5],
    ['UNLIMITED', Infinity],
    ['infinite', Infinity],
  ])('%s -> %d s', (raw, secs) => expect(parseTimeLimit(raw)).toBe(secs));
  it.each(['', '0', '1:2:3:4', 'abc', '-5', '1-', '2h'])('refuses %j', (raw) =>
    expect(() => parseTimeLimit(raw)).toThrow(UsageError),
  );
});

describe('parseMemMb', () => {
  it.each([
    ['4096', 4096],
    ['500M', 500],
    ['64G', 65536],
    ['64g', 65536],
    ['1T', 1048576],
    ['2048K', 2],
    ['0', 0],
  ])('%s -> %d MB', (raw, mb) => expect(parseMemMb(raw)).toBe(mb));
  it.each(['', '64GiB', '-1', '1.5G', 'lots'])('refuses %j', (raw) =>
    expect(() => parseMemMb(raw)).toThrow(UsageError),
  );
});

describe('validateSbatchArg', () => {
  it.each([
    '--mail-type=END',
    '--comment=a b',
    '--nodelist=node[1-2]',
    '-wnode1',
    '--gres=nvme:1',
    '--hold',
    '--chdir=/x',
    '--exclude=node3',
  ])('accepts %s', (a) => expect(validateSbatchArg(a)).toBe(a));
  it.each([
    ['--nodes=2', /raysl sets --nodes/],
    ['-N2', /raysl sets --nodes/],
    ['--ntasks=8', /raysl sets --ntasks/],
    ['-n8', /raysl sets --ntasks/],
    ['--ntasks-per-node=2', /--ntasks-per-node/],
    ['--signal=USR1@60', /--signal/],
    ['--parsable', /--parsable/],
    ['--wrap=hostname', /--wrap/],
    ['--gres=gpu:4', /--gres=gpu/],
    ['--gres=nvme:1,gpu:a100:2', /--gres=gpu/],
    ['--gpus=8', /--gpus/],
    ['-G8', /--gpus/],
    ['--cpus-per-task=4', /--cpus-per-task/],
    ['-c4', /--cpus-per-task/],
    ['-pgpu', /--partition/],
    ['--time=5', /--time/],
    ['--export=NONE', /--export/],
    ['--array=1-3', /--array/],
    ['--nod=3', /--nodes/],
    ['nodes=2', /starting with -/],
    ['--', /starting with -/],
  ])('refuses %s', (a, message) => {
    expect(() => validateSbatchArg(a)).toThrow(UsageError);
    expect(() => validateSbatchArg(a)).toThrow(message);
  });
});

describe('mergeInputs', () => {
  it('takes scalars from the highest layer, concatenates lists, merges env', () => {
    const merged = mergeInputs([
      { partition: 'debug', nodes: 2, setup: ['module load python'], env: { A: '1', B: '1' } },
      { partition: 'gpu', setup: ['module load cuda'], sbatchArgs: ['--hold'], env: { B: '2' } },
      { nodes: 4, setup: ['echo hi'], env: { C: '3' } },
    ]);
    expect(merged).toEqual({
      partition: 'gpu',
      nodes: 4,
      setup: ['module load python', 'module load cuda', 'echo hi'],
      sbatchArgs: ['--hold'],
      env: { A: '1', B: '2', C: '3' },
    });
  });
});

describe('buildSpec', () => {
  it('fills defaults and makes the job dir absolute', () => {
    expect(buildSpec('/w/train.py', ['--x'], {}, { cwd: '/w' })).toEqual({
      entrypoint: '/w/train.py',
      args: ['--x'],
      nodes: 1,
      sbatchArgs: [],
      runtime: 'auto',
      joinTimeoutSec: 120,
      jobDir: '/w/raysl-jobs',
      setup: [],
      env: {},
    });
  });
  it('keeps given values and the profile name', () => {
    const s = buildSpec(
      't.ts',
      [],
      { nodes: 4, minNodes: 3, joinTimeout: 30, jobDir: '../jobs', continueOnNodeLoss: true },
      { cwd: '/w/sub', profile: 'gpu' },
    );
    expect(s).toMatchObject({
      nodes: 4,
      minNodes: 3,
      joinTimeoutSec: 30,
      jobDir: '/w/jobs',
      continueOnNodeLoss: true,
      profile: 'gpu',
    });
  });
  it.each([
    [{ nodes: 0 }, /--nodes: expected at least 1 node/],
    [{ nodes: 2, minNodes: 3 }, /--min-nodes: expected a number from 1 to --nodes \(2\), received 3/],
    [{ setup: ['ok', 'bad\nline'] }, /--setup must be a single line/],
    [{ env: { 'A-B': 'x' } }, /--env: expected KEY=VALUE/],
  ])('refuses %j', (input, message) => expect(() => buildSpec('e.py', [], input, { cwd: '/w' })).toThrow(message));
});

describe('resolvePath', () => {
  it.each([
    ['/a/b', 'c', '/a/b/c'],
    ['/a/b', '../c', '/a/c'],
    ['/a/b/', './c/./d', '/a/b/c/d'],
    ['/a', '/abs//x', '/abs/x'],
    ['/', '..', '/'],
  ])('%s + %s -> %s', (base, p, out) => expect(resolvePath(base, p)).toBe(out));
});
