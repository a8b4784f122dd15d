// Property-based fuzzing of the CLI's argument and config parsing, in-process through runCli (the
// same entry the binary calls). Seeded and reproducible: a failure prints fast-check's seed and
// path; replay with FUZZ_SEED=<seed>. Inputs: every flag of the option table with empty, huge,
// negative, non-numeric, unicode and shell-metacharacter values, flags as values, the same flag
// twice, unknown flags, --version anywhere, and config files of any shape. For every input: exit 0
// or 2, on 2 exactly one `raysl: error:` line and one hint line, never an internal error (70), a
// stack trace or a hang, and nothing created anywhere; every accepted render script is `bash -n`
// clean, carries every value exactly as given (env, setup, job name, entrypoint arguments) and,
// run with exec stubbed, execs only the controller with the plan on stdin and runs nothing injected.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { memIo } from '../support/mem-io.js';
import { jobOptionTable } from '../../src/core/job-options.js';
import { runCli } from '../../src/cli/main.js';
import { tempDir } from '../support/temp-dir.js';

vi.hoisted(() => {
  (globalThis as { RAYSL_VERSION?: string }).RAYSL_VERSION ??= '0.0.0-test';
});

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);
const CASE_DEADLINE_MS = 5000;

const dir = tempDir('raysl-fuzz-');
writeFileSync(join(dir, 'train.ts'), 'console.log(1)\n');
writeFileSync(join(dir, 'train.py'), 'print(1)\n');
writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
writeFileSync(join(dir, 'plain'), 'x\n');
writeFileSync(join(dir, 'locked.sh'), 'echo\n');
chmodSync(join(dir, 'tool'), 0o755);
chmodSync(join(dir, 'locked.sh'), 0o000);
mkdirSync(join(dir, 'adir'));
writeFileSync(join(dir, 'afile'), 'x');

/** Strings users and attackers type: shell metacharacters, Slurm patterns, control bytes, huge numbers. */
const nasty = fc.constantFrom(
  '',
  ' ',
  '0',
  '1',
  '2',
  '4',
  '-1',
  '255',
  '256',
  '3000000',
  '9007199254740993',
  '1e3',
  '0x10',
  '1.5',
  '99999999999999999999',
  '%',
  '%j',
  'a%jb',
  `$(touch ${join(dir, 'pwned')})`,
  '`id`',
  "'",
  '"',
  '\\',
  ';rm -rf ~',
  '&&',
  '|',
  '\n',
  'a\nb',
  '\r',
  '\u0000',
  'x\u0000y',
  '\u001b[2J',
  '--',
  '-',
  '--x',
  '-N',
  'toString',
  'constructor',
  '__proto__',
  'default',
  'auto',
  'ray',
  'builtin',
  'token',
  'off',
  '2:00:00',
  '1-12',
  'UNLIMITED',
  '64G',
  '1T',
  '0',
  'a100',
  'a100&ib',
  'gpu',
  'debug',
  '/proc/raysl',
  '/sys/kernel',
  'afile',
  'adir',
  'jobs',
  'KEY=VAL',
  'A=',
  '=x',
  'SLURM_JOB_ID=1',
  'CUDA_VISIBLE_DEVICES=0',
  'PATH=$PATH',
  '{"trainer": 1}',
  'head={"x":2}',
  '{',
  'null',
  '日本語',
  'é',
  '--version',
  '-V',
  '--json',
  '--help',
  'x'.repeat(70_000),
  '9'.repeat(5000),
  '-'.repeat(300),
  '👍🏽',
  '\u202e',
  'A=\u0000',
);
const text = fc.oneof(
  { weight: 3, arbitrary: nasty },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

const longFlags = jobOptionTable.map((r) => r.flags.match(/--[a-z-]+/)![0]);
const shortFlags = jobOptionTable.flatMap((r) => r.flags.match(/^-[a-zA-Z]\b/) ?? []);
const flag = fc.constantFrom(
  ...longFlags,
  ...shortFlags,
  '--profile',
  '--no-check',
  '--json',
  '--no-color',
  '--bogus',
  '-Z',
  '--local',
  '--version',
  '-V',
  '--nodes-',
  '---N',
);

const flagArgs = fc
  .array(
    fc.oneof(
      fc.tuple(flag, text).map(([f, v]) => [f, v]),
      fc.tuple(flag, text).map(([f, v]) => [`${f}=${v}`]),
      flag.map((f) => [f]),
      // the same flag twice: the last value must win, or both be refused
      fc.tuple(flag, text, text).map(([f, a, b]) => [f, a, f, b]),
    ),
    { maxLength: 5 },
  )
  .map((xs) => xs.flat());
const entrypoint = fc.constantFrom(
  'train.ts',
  'train.py',
  'tool',
  'plain',
  'locked.sh',
  'adir',
  'missing.py',
  '',
  '-',
  'train.ts\n',
);
const entryArgs = fc.array(text, { maxLength: 3 });

/** A config profile with keys from the option table (and some that are not), values of any JSON shape. */
const keys = fc.constantFrom(...jobOptionTable.map((r) => r.key), 'bogus', '__proto__', 'constructor');
const value = fc.oneof(
  text,
  fc.integer({ min: -5, max: 10_000_000 }),
  fc.constantFrom(1e21, 2 ** 53, 0.5, true, null),
  fc.array(text, { maxLength: 2 }),
  fc.dictionary(fc.oneof(text, fc.constantFrom('A', 'B_1', 'all', 'head')), fc.oneof(text, fc.integer())),
);
const profile = fc.dictionary(keys, value, { maxKeys: 3 });
const config = fc.option(
  fc.record({
    profiles: fc.dictionary(fc.constantFrom('default', 'gpu', 'toString', '__proto__', 'a b'), profile, { maxKeys: 2 }),
  }),
  { nil: undefined },
);

/** Values each flag accepts, with hostile text where the value is free (names, lines, env values): accepted inputs reach the script. */
const hostileText = fc.constantFrom(
  `$(touch ${join(dir, 'pwned')})`,
  `;touch ${join(dir, 'pwned')}`,
  `'; touch ${join(dir, 'pwned')}; '`,
  '`id`',
  "a'b",
  'a"b',
  '\\',
  ';rm -rf ~',
  '%j',
  'a b',
  '日本語',
  '$HOME',
  '!x',
  '#c',
  '*',
  '~',
);
const plausibleValue: Record<string, fc.Arbitrary<string>> = {
  '--nodes': fc.constantFrom('1', '2', '4', '65536', '65537'),
  '--min-nodes': fc.constantFrom('1', '2'),
  '--time': fc.constantFrom('10', '2:00:00', '1-12', 'UNLIMITED', '365-00:00:00', '366-00:00:00'),
  '--gpus-per-node': fc.constantFrom('0', '1', '8', '1024', '1025'),
  '--cpus-per-task': fc.constantFrom('1', '4', '96'),
  '--mem': fc.constantFrom('0', '4096', '64G', '1T', '1024T', '1025T'),
  '--join-timeout': fc.constantFrom('1', '120', '604800', '604801'),
  '--runtime': fc.constantFrom('auto', 'ray', 'builtin'),
  '--ray-auth': fc.constantFrom('token', 'off'),
  '--sbatch-arg': fc.constantFrom('--mail-type=END', '--comment=x y', '--comment=$(id)', '--hold', '--bogus-opt'),
  '--env': fc
    .tuple(fc.constantFrom('A', 'NCCL_DEBUG', 'X_1'), fc.oneof(hostileText, fc.string({ maxLength: 6 })))
    .map(([k, v]) => `${k}=${v}`),
  '--resources': fc.constantFrom('{"trainer": 1}', 'head={"ps": 1}', '1-2={"x": 0.5}'),
  '--job-dir': fc.constantFrom('jobs', 'a b', "it's", 'adir', '/tmp/raysl-fuzz-jobs'),
  '--profile': fc.constantFrom('default', 'toString', 'constructor', '__proto__', 'valueOf'),
};
const plausibleFlag = fc
  .constantFrom(...jobOptionTable.map((r) => r.flags.match(/--[a-z-]+/)![0]), '--profile')
  .chain((f) => {
    const row = jobOptionTable.find((r) => r.flags.includes(f)) ?? { flags: '--profile <name>' };
    if (!row.flags.includes('<')) return fc.constant<string[]>([f]);
    return (plausibleValue[f] ?? hostileText).map((v): string[] => [f, v]);
  });
const plausible = fc.record({
  kind: fc.constant('plausible' as const),
  command: fc.constant('render'),
  flags: fc.array(plausibleFlag, { maxLength: 5 }).map((xs) => xs.flat()),
  entrypoint: fc.constantFrom('train.ts', 'train.py', 'tool'),
  dashdash: fc.constant(true),
  args: fc.array(fc.oneof(hostileText, fc.string({ maxLength: 8 })), { maxLength: 3 }),
  config: fc.constant(undefined),
});

const hostile = fc.record({
  kind: fc.constant('hostile' as const),
  command: fc.constantFrom('render', 'render', 'render', 'submit', 'run', 'hostnames', 'hostlist', 'nope'),
  flags: flagArgs,
  entrypoint,
  dashdash: fc.boolean(),
  args: entryArgs,
  config,
});
const input = fc.oneof(hostile, plausible);

/** Every path under dir (the fuzz's cwd and HOME), but the config file each case writes itself. */
function tree(at: string, rel = ''): string[] {
  return readdirSync(join(at, rel), { withFileTypes: true })
    .flatMap((e) => {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      return e.isDirectory() ? [r, ...tree(at, r)] : [r];
    })
    .filter((r) => r !== 'raysl.config.json')
    .sort();
}

/** The value of each job flag as the argv gives it (the last one wins; repeatable flags: all, in order). */
function expectedValues(argv: readonly string[]): { env: Record<string, string>; setup: string[]; jobName?: string } {
  const env: Record<string, string> = {};
  const setup: string[] = [];
  let jobName: string | undefined;
  for (let k = 0; k < argv.length - 1; k++) {
    const [f, v] = [argv[k], argv[k + 1]!];
    if (f === '--') break;
    if (f === '--env') env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
    else if (f === '--setup') setup.push(v);
    else if (f === '--job-name') jobName = v;
    else continue;
    k++;
  }
  return { env, setup, ...(jobName !== undefined ? { jobName } : {}) };
}

/** The plan a rendered script hands its controller (the heredoc's one line). */
function planInScript(script: string): {
  env: Record<string, string>;
  setup: string[];
  jobName: string;
  entrypoint: { args: string[] };
} {
  const lines = script.split('\n');
  return JSON.parse(lines[lines.indexOf(lines.find((l) => l.endsWith("<<'RAYSL_PLAN'"))!) + 1]!) as ReturnType<
    typeof planInScript
  >;
}

/** argv for one input. submit gets --dry-run --no-check and run no --local, so nothing is ever submitted or started. */
type Input = typeof input extends fc.Arbitrary<infer T> ? T : never;

function argvOf(i: Input): string[] {
  const safe = i.flags.filter((f) => f !== '--local');
  const head =
    i.command === 'submit'
      ? ['submit', '--dry-run', '--no-check']
      : i.command === 'render'
        ? ['render', '--no-check']
        : [i.command];
  return [...head, ...safe, i.entrypoint, ...(i.dashdash ? ['--'] : []), ...i.args];
}

/** `bash -n` on many scripts at once (each in its own function body), bisecting to the culprit on failure. */
function bashSyntaxErrors(scripts: string[]): string[] {
  if (scripts.length === 0) return [];
  const joined = scripts.map((s, i) => `__raysl_fuzz_${i}() {\n${s}\n:\n}\n`).join('');
  const r = spawnSync('bash', ['-n'], { input: joined, encoding: 'utf8' });
  if (r.status === 0) return [];
  if (scripts.length === 1) return [`${r.stderr}\n--- script ---\n${scripts[0]}`];
  const half = Math.ceil(scripts.length / 2);
  return [...bashSyntaxErrors(scripts.slice(0, half)), ...bashSyntaxErrors(scripts.slice(half))];
}

/**
 * Runs accepted scripts (those without the user's own --setup lines, which run as written by
 * design) in one bash, with `exec` overridden by a function that records its argv and environment:
 * the script must exec exactly node, raysl, controller, --plan-from - (the plan's JSON on stdin), export exactly the
 * plan's env, and run nothing else (no injected command creates the marker file).
 */
function injectionFindings(scripts: string[]): { findings: string[]; checked: number } {
  const out = tempDir('raysl-fuzz-run-');
  const runnable = scripts.filter((t) => !t.includes("# setup: the user's own shell lines"));
  const body = runnable.map((t, i) => `I=${i}\n(\n${t}\n)\n`).join('');
  const harness = `exec() { printf '%s\\0' "$@" > "$OUT/$I.argv"; cat > "$OUT/$I.plan"; env -0 > "$OUT/$I.env"; }\n${body}`;
  const r = spawnSync('bash', ['-s'], {
    input: harness,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, OUT: out },
    timeout: 60_000,
  });
  const findings: string[] = [];
  if (r.status !== 0) findings.push(`harness exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  runnable.forEach((t, i) => {
    let argv: string[];
    try {
      argv = readFileSync(join(out, `${i}.argv`), 'utf8')
        .split('\0')
        .slice(0, -1);
    } catch {
      findings.push(`script ${i} never reached its exec line:\n${t}`);
      return;
    }
    const [, , verb, flag, from, ...rest] = argv;
    if (verb !== 'controller' || flag !== '--plan-from' || from !== '-' || rest.length > 0) {
      findings.push(`script ${i} execs ${JSON.stringify(argv)}`);
      return;
    }
    const plan = JSON.parse(readFileSync(join(out, `${i}.plan`), 'utf8')) as { env: Record<string, string> };
    const env = new Map(
      readFileSync(join(out, `${i}.env`), 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
    );
    for (const [k, v] of Object.entries(plan.env))
      if (env.get(k) !== v)
        findings.push(`script ${i}: ${k}=${JSON.stringify(env.get(k))}, plan says ${JSON.stringify(v)}`);
  });
  if (existsSync(join(dir, 'pwned'))) findings.push('an injected command ran: the marker file exists');
  rmSync(out, { recursive: true, force: true });
  return { findings, checked: runnable.length };
}

describe('CLI fuzz: argv and config', () => {
  it(`${RUNS} seeded inputs (seed ${SEED}): exit 0 or 2 with message and hint, no internal error, no hang; accepted scripts pass bash -n`, async () => {
    const accepted: string[] = [];
    const counts = { ok: 0, usage: 0 };
    let carried = 0;
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(input, async (i) => {
        const cfg = join(dir, 'raysl.config.json');
        if (i.config) writeFileSync(cfg, JSON.stringify(i.config));
        else rmSync(cfg, { force: true });
        const argv = argvOf(i);
        const io = memIo({ home: dir, env: { PATH: '/nonexistent' } });
        const before = tree(dir);
        let timer: NodeJS.Timeout | undefined;
        const code = await Promise.race([
          runCli(argv, io),
          new Promise<never>(
            (_, reject) =>
              (timer = setTimeout(
                () => reject(new Error(`hang: no exit within ${CASE_DEADLINE_MS} ms`)),
                CASE_DEADLINE_MS,
              )),
          ),
        ]).finally(() => clearTimeout(timer));
        const all = io.out() + io.err();
        expect(all, JSON.stringify(argv)).not.toMatch(
          /raysl: (error: )?internal error|"exitCode": 70|\n\s+at \S+ \(|TypeError|ReferenceError/,
        );
        expect([0, 2], `${JSON.stringify(argv)}\n${all}`).toContain(code);
        // render, submit --dry-run and every refusal write nothing anywhere: no job dir, no script
        expect(tree(dir), JSON.stringify(argv)).toEqual(before);
        if (code === 2) {
          counts.usage++;
          if (
            argv.includes('--json') &&
            !argv.slice(argv.indexOf('--') === -1 ? argv.length : argv.indexOf('--')).includes('--json') &&
            io.out().startsWith('{')
          ) {
            const e = (JSON.parse(io.out()) as { error: { message: string; hint?: string } }).error;
            expect(e.message.length, JSON.stringify(argv)).toBeGreaterThan(0);
            expect(e.hint, `${JSON.stringify(argv)}: ${e.message}`).toBeTruthy();
          } else {
            // exactly one error line and one hint line
            expect(io.err().match(/^raysl: error: \S/gm), `${JSON.stringify(argv)}\n${io.err()}`).toHaveLength(1);
            expect(io.err().match(/^ {2}hint: \S/gm), `${JSON.stringify(argv)}\n${io.err()}`).toHaveLength(1);
          }
        } else {
          counts.ok++;
          // an accepted --profile names a profile the config file really has (not Object.prototype's)
          const named = argv.slice(0, argv.indexOf('--') === -1 ? argv.length : argv.indexOf('--'));
          const at = named.lastIndexOf('--profile');
          const profileName =
            at === -1
              ? [...named]
                  .reverse()
                  .find((a) => a.startsWith('--profile='))
                  ?.slice('--profile='.length)
              : named[at + 1];
          if (profileName !== undefined && profileName !== 'default' && !argv.includes('--help')) {
            expect(
              i.config !== undefined && Object.hasOwn(i.config.profiles, profileName),
              `${JSON.stringify(argv)} accepted an unknown profile`,
            ).toBe(true);
          }
          const isRender =
            argv[0] === 'render' && !argv.includes('--json') && !argv.includes('--help') && !argv.includes('-h');
          if (isRender && io.out().startsWith('#!')) {
            accepted.push(io.out());
            if (i.kind === 'plausible') {
              // the script carries every value exactly as given
              const plan = planInScript(io.out());
              const want = expectedValues(argv);
              expect(plan.env, JSON.stringify(argv)).toEqual(want.env);
              expect(plan.setup, JSON.stringify(argv)).toEqual(want.setup);
              if (want.jobName !== undefined) expect(plan.jobName, JSON.stringify(argv)).toBe(want.jobName);
              expect(plan.entrypoint.args, JSON.stringify(argv)).toEqual(i.args);
              carried++;
            }
          }
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(bashSyntaxErrors(accepted)).toEqual([]);
    const injection = injectionFindings(accepted);
    expect(injection.findings).toEqual([]);
    expect(injection.checked).toBeGreaterThan(RUNS / 10);
    if (process.env.FUZZ_VERBOSE)
      console.log({ ...counts, accepted: accepted.length, carried, run: injection.checked, ms: Date.now() - t0 });
    expect(carried).toBeGreaterThan(RUNS / 20);
    // the generator must reach both outcomes, or the property says little
    expect(counts.ok).toBeGreaterThan(RUNS / 50);
    expect(counts.usage).toBeGreaterThan(RUNS / 4);
    expect(accepted.length).toBeGreaterThan(RUNS / 100);
  }, 120_000);
});
