// Issue 10 section 3: every bad input is one clear error (exit 2) with a hint, checked in-process
// where the CLI needs no processes (render --no-check writes nothing and starts nothing).
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { memIo } from '../support/mem-io.js';
import { profileLayers, mergeConfigs, validateConfig } from '../../src/core/config.js';
import { UsageError } from '../../src/core/errors.js';
import { LIMITS, parseCount, parseEnvPair, parseMemMb, parseTimeLimit } from '../../src/core/option-values.js';
import { buildSpec } from '../../src/core/spec.js';
import { keyLine, slurmFailure } from '../../src/slurm/exec.js';
import { runCli } from '../../src/cli/main.js';

vi.hoisted(() => {
  (globalThis as { RAYSL_VERSION?: string }).RAYSL_VERSION ??= '0.0.0-test';
});

function usageOf(f: () => unknown): UsageError {
  try {
    f();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('expected a UsageError');
}

function project(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'raysl-bad-'));
  writeFileSync(join(dir, 'train.ts'), 'console.log(1)\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function render(dir: string, argv: string[]): Promise<{ code: number; err: string; out: string }> {
  const io = memIo({ home: dir });
  const code = await runCli(['render', '--no-check', ...argv], io);
  return { code, err: io.err(), out: io.out() };
}

describe('numeric flags have real upper bounds', () => {
  it('--join-timeout: 7 days in seconds at most (timers overflow at 2^31 ms)', () => {
    expect(LIMITS.joinTimeout.max * 1000).toBeLessThan(2 ** 31 - 1);
    expect(parseCount('604800', '--join-timeout', 1, LIMITS.joinTimeout.max)).toBe(604800);
    const e = usageOf(() => parseCount('3000000', '--join-timeout', 1, LIMITS.joinTimeout.max, LIMITS.joinTimeout.why));
    expect(e.message).toBe('--join-timeout: at most 604800 (7 days in seconds), received "3000000"');
    expect(e.hint).toBe('use --join-timeout 604800 or less');
  });

  it.each([
    [['--join-timeout', '3000000'], /--join-timeout: at most 604800/],
    [['-N', '100000000'], /--nodes: at most 65536/],
    [['--min-nodes', '9007199254740993'], /--min-nodes: expected a whole number from 1 to 65536/],
    [['--gpus-per-node', '5000'], /--gpus-per-node: at most 1024/],
    [['-c', '1000000'], /--cpus-per-task: at most 65536/],
    [['--mem', '99999999999999999999T'], /--mem: at most 1P/],
    [['-t', '99999999999'], /--time: at most 365 days/],
    // preemption and requeue (issue 11)
    [['--preempt-grace', '5'], /--preempt-grace: expected a whole number from 10 to 65535, received "5"/],
    [['--preempt-grace', '70000'], /--preempt-grace: at most 65535 \(sbatch --signal's own limit\)/],
    [['--preempt-grace', 'soon'], /--preempt-grace: expected a whole number/],
    [['-t', '1', '--preempt-grace', '60'], /--preempt-grace 60: the warning would come before the job starts/],
    [
      ['--preempt-signal', 'USR1'],
      /--preempt-signal: expected TERM, INT, HUP or USR2, received "USR1"\n {2}hint: USR1 is taken \(NCCL uses it\)/,
    ],
    [['--preempt-signal', 'KILL'], /--preempt-signal: expected TERM, INT, HUP or USR2/],
    [['--max-restarts', '2'], /--max-restarts 2 needs --requeue/],
    [['--requeue', '--max-restarts', '0'], /--max-restarts: expected a whole number from 1 to 100/],
    [['--requeue', '--max-restarts', '101'], /--max-restarts: at most 100/],
    // automatic scaling (issue 22)
    [['-N', '2', '--max-nodes', '1'], /--max-nodes 1 is below the job's 2 nodes\n {2}hint: use --max-nodes 3 or more/],
    [['--max-nodes', '0'], /--max-nodes: expected a whole number from 1 to 65536/],
    [['--idle-timeout', '30'], /--idle-timeout 30 needs --max-nodes/],
    [['--scale-up-delay', '0'], /--scale-up-delay 0 needs --max-nodes/],
    [['--max-nodes', '4', '--idle-timeout', '0'], /--idle-timeout: expected a whole number from 1 to 604800/],
    [['--max-nodes', '4', '--scale-up-delay', '-1'], /--scale-up-delay/],
    [['--max-nodes', '4', '--scale-up-delay', '90000'], /--scale-up-delay: at most 86400/],
    [['--sbatch-arg=--signal=B:USR1@60'], /raysl sets --signal itself\n {2}hint: use --preempt-grace/],
    [['--sbatch-arg=--open-mode=truncate'], /raysl sets --open-mode itself/],
  ])('render %j -> exit 2 with a hint', async (argv, message) => {
    const r = await render(project(), [...argv, 'train.ts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/\n {2}hint: \S/);
  });

  it.each([
    [['cancel', '1', '--grace', '999999'], /--grace: at most 86400/],
    [['check-ports', '-N', '100000000'], /-N\/--nodes expects a whole number from 1 to 65536/],
    [['check-ports', '--cpus-per-task', '99999999'], /--cpus-per-task expects a whole number from 1 to 65536/],
  ])('%j -> exit 2 before any Slurm call', async (...argv) => {
    const [args, message] = argv as [string[], RegExp];
    const io = memIo({ home: project() });
    expect(await runCli(args, io)).toBe(2);
    expect(io.err()).toMatch(message);
    expect(io.err()).toMatch(/\n {2}hint: \S/);
  });

  it('config files are bounded the same way', () => {
    const e = usageOf(() => validateConfig({ profiles: { default: { joinTimeout: 3_000_000 } } }, 'raysl.config.json'));
    expect(e.message).toMatch(/profiles\.default\.joinTimeout: at most 604800/);
    expect(() => parseTimeLimit('365-00:00:00')).not.toThrow();
    expect(parseMemMb('1024T')).toBe(1024 ** 3);
  });
});

describe('job dir', () => {
  it('refuses % (sbatch expands it in --output) with a hint, from a flag or a config file', async () => {
    const e = usageOf(() => buildSpec('/x/t.ts', [], { jobDir: 'jobs/pct%jdir' }, { cwd: '/x' }));
    expect(e.message).toBe('--job-dir "jobs/pct%jdir": a job dir cannot contain %');
    expect(e.hint).toMatch(/sbatch expands % patterns/);
    const dir = project({ 'raysl.config.json': JSON.stringify({ profiles: { default: { jobDir: 'a%j' } } }) });
    const r = await render(dir, ['train.ts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/a job dir cannot contain %/);
  });

  it('render refuses a job dir that is a file', async () => {
    const dir = project({ afile: 'x' });
    const r = await render(dir, ['--job-dir', 'afile', 'train.ts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--job-dir \S+afile: exists and is not a directory\n {2}hint: /);
  });
});

describe('config env values', () => {
  it('a NUL in an env value is a clear error in render (not a silently different value)', async () => {
    const dir = project({ 'raysl.config.json': JSON.stringify({ profiles: { default: { env: { A: 'x\u0000y' } } } }) });
    const r = await render(dir, ['train.ts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/env A: the value holds a NUL byte/);
    expect(r.out).toBe('');
  });
});

describe('profiles are own keys only', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    '--profile %s -> no profile named ...',
    async (name) => {
      const config = mergeConfigs([validateConfig({ profiles: { default: { nodes: 2 } } }, 'c.json')]);
      expect(usageOf(() => profileLayers(config, name, ['c.json'])).message).toBe(
        `no profile named ${JSON.stringify(name)} in c.json`,
      );
      const r = await render(project(), ['--profile', name, 'train.ts']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`no profile named "${name}"`));
    },
  );

  it('a profile named __proto__ in a file stays a name and does not change other profiles', () => {
    const config = mergeConfigs([
      validateConfig(JSON.parse('{"profiles": {"__proto__": {"nodes": 7}, "a": {"nodes": 1}}}'), 'c.json'),
    ]);
    expect(profileLayers(config, 'a', [])).toEqual([{ nodes: 1 }]);
    expect(({} as Record<string, unknown>).nodes).toBeUndefined();
  });
});

describe('entrypoint', () => {
  it('an unreadable entrypoint (mode 000) is refused before anything starts', async () => {
    const dir = project();
    chmodSync(join(dir, 'train.ts'), 0o000);
    const r = await render(dir, ['train.ts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/entrypoint train\.ts is not readable/);
    expect(r.err).toMatch(/hint: chmod u\+r train\.ts/);
  });

  it('an unknown flag after the entrypoint hints that its arguments go after --', async () => {
    const r = await render(project(), ['train.ts', '--epochs', '3']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--epochs'/);
    expect(r.err).toMatch(/hint: arguments for the entrypoint go after --/);
  });
});

describe('setup lines', () => {
  it('a --setup line that is not valid shell (unmatched quote) is refused, naming it', async () => {
    const r = await render(project(), ['--setup', 'module load cuda', '--setup', "echo 'unclosed", 'train.ts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--setup "echo 'unclosed" is not a valid shell line/);
    expect(r.err).toMatch(/hint: each --setup entry is one complete shell line/);
    expect((await render(project(), ['--setup', 'module load cuda', 'train.ts'])).code).toBe(0);
  });
});

describe('Slurm errors keep the line that says what is wrong', () => {
  it('sbatch --bogus-opt: "unrecognized option", not "Try sbatch --help" (recorded from sbatch 22.05)', () => {
    const stderr = 'sbatch: unrecognized option \'--bogus-opt\'\nTry "sbatch --help" for more information\n';
    expect(keyLine(stderr)).toBe("sbatch: unrecognized option '--bogus-opt'");
    expect(slurmFailure(['sbatch', '--bogus-opt', 'x.sh'], { exitCode: 255, stdout: '', stderr }).message).toMatch(
      /unrecognized option '--bogus-opt'/,
    );
  });
});

describe('hints are for every user', () => {
  it("no hint in src/ names the test cluster's own env.sh or scripts", () => {
    const offenders: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\/tmp\/raysl-slurm|\benv\.sh|dev-slurm\.sh/.test(readFileSync(p, 'utf8'))) offenders.push(p);
      }
    };
    walk(join(__dirname, '..', '..', 'src'));
    expect(offenders).toEqual([]);
  });
});

describe('reserved --env names get the reason of their own family (issue 16)', () => {
  it.each([
    ['SLURM_FOO', /Slurm sets SLURM_\*/],
    ['SBATCH_PARTITION', /reads SBATCH_\*\/SRUN_\* as its own options/],
    ['RAYSL_X', /raysl sets RAYSL_\*/],
    ['RAY_ADDRESS', /raysl points RAY_ADDRESS at the job's own head/],
    ['RAY_AUTH_TOKEN', /--ray-auth/],
    ['CUDA_VISIBLE_DEVICES', /--gpus-per-node/],
  ])('--env %s=1', (key, hint) => {
    const e = usageOf(() => parseEnvPair(`${key}=1`));
    expect(e.message).toBe(`--env: ${key} is set by Slurm or raysl for the job and cannot be overridden`);
    expect(e.hint).toMatch(hint);
    if (key !== 'CUDA_VISIBLE_DEVICES') expect(e.hint).not.toMatch(/GPU/);
  });
});
