import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { memIo } from '../support/mem-io.js';
import { UsageError } from '../../src/core/errors.js';
import { planJob, type PlanTools } from '../../src/core/plan.js';
import { buildSpec, type JobInput } from '../../src/core/spec.js';
import type { ClusterFacts, NodeFacts, Plan } from '../../src/core/types.js';
import { renderSbatch, sbatchArgvFor } from '../../src/render/sbatch.js';
import { runtimeCommands } from '../../src/runtimes/ray/argv.js';
import { runCli } from '../../src/cli/main.js';
import { tempDir } from '../support/temp-dir.js';

// vitest's `define` does not reach src/cli/main.ts under the projects config (RAYSL_VERSION is
// injected by the bundler); provide it before the static imports run.
vi.hoisted(() => {
  (globalThis as { RAYSL_VERSION?: string }).RAYSL_VERSION ??= '0.0.0-test';
});

// Fixed paths: goldens must not depend on the machine that renders them.
const tools: PlanTools = {
  tsx: '/opt/raysl/node_modules/tsx/dist/cli.mjs',
  hook: 'file:///opt/raysl/dist/register-entry.mjs',
  node: '/usr/bin/node',
  cwd: '/home/alice/proj',
  version: '0.0.0-test',
};
const ctx = { node: '/usr/bin/node', raysl: '/opt/raysl/dist/raysl.mjs' };

const n = (name: string, over: Partial<NodeFacts>): NodeFacts => ({
  name,
  cpus: 4,
  memoryMb: 4096,
  gpus: 0,
  gres: '(null)',
  state: 'idle',
  partitions: [],
  features: [],
  ...over,
});
const facts = (partition: string, nodes: NodeFacts[]): ClusterFacts => ({
  source: 'sinfo',
  slurmVersion: '23.11.4',
  partition,
  nodes,
  ephemeralPortRange: [32768, 60999],
});
const gpu = facts(
  'gpu',
  [1, 2, 3, 4].map((i) =>
    n(`gpu-00${i}`, { cpus: 96, memoryMb: 1_031_000, gpus: 8, gres: 'gpu:a100:8(S:0-1)', features: ['a100', 'ib'] }),
  ),
);
const cpu = facts(
  'cpu',
  [1, 2, 3].map((i) => n(`cpu-00${i}`, { cpus: 64, memoryMb: 257_000 })),
);
const shared = facts('shared', [
  n('s1', { cpus: 32, gpus: 4, gres: 'gpu:4', state: 'mix' }),
  n('s2', { cpus: 32, gpus: 4, gres: 'gpu:4', state: 'alloc' }),
]);

const HOSTILE_NAME = 'x"; touch /tmp/pwned; "';
const HOSTILE_ARGS = [
  'x"; touch /tmp/pwned; "',
  '$(touch /tmp/pwned)',
  '`touch /tmp/pwned`',
  "it's 'quoted'",
  '--flag=a b',
  '',
  'ünï 日本 🚀',
  '#hash',
  '\\',
  'new\nline',
];

interface Case {
  name: string;
  entry: string;
  input: JobInput;
  args?: string[];
  facts: ClusterFacts;
}
const cases: Case[] = [
  { name: 'one-node', entry: 'train.ts', input: {}, facts: cpu },
  {
    name: 'gpu-4x8',
    entry: 'train.py',
    input: {
      nodes: 4,
      gpusPerNode: 8,
      partition: 'gpu',
      time: '2:00:00',
      exclusive: true,
      account: 'ml',
      constraint: 'a100&ib',
    },
    args: ['--epochs', '3'],
    facts: gpu,
  },
  {
    name: 'cpu-only',
    entry: 'scripts/sweep.sh',
    input: { nodes: 3, mem: '8G', time: '30', runtime: 'builtin', jobDir: '/scratch/alice/jobs' },
    facts: cpu,
  },
  {
    name: 'shared-partition',
    entry: 'serve.mjs',
    input: {
      nodes: 2,
      minNodes: 1,
      partition: 'shared',
      gpusPerNode: 2,
      cpusPerTask: 8,
      qos: 'low',
      sbatchArgs: ['--mail-type=END', '--comment=raysl demo job', '--nodelist=s[1-2]'],
      joinTimeout: 300,
      continueOnNodeLoss: true,
    },
    facts: shared,
  },
  {
    name: 'setup-lines',
    entry: 'train.py',
    input: {
      nodes: 2,
      gpusPerNode: 4,
      partition: 'gpu',
      setup: ['module purge', 'module load cuda/12.4 python/3.11', 'source "$HOME/venvs/ray/bin/activate"'],
      env: { NCCL_DEBUG: 'INFO', NCCL_IB_HCA: 'mlx5_0,mlx5_1', WANDB_PROJECT: 'my project' },
      python: '/home/alice/venvs/ray/bin/python',
      iface: 'ib0',
    },
    facts: gpu,
  },
  // --head-cpus-only on the test cluster's shape (4 nodes of 4 GPUs): the head in component 0 without GPUs
  {
    name: 'head-cpus-only',
    entry: 'examples/train.ts',
    input: {
      nodes: 2,
      gpusPerNode: 1,
      headCpusOnly: true,
      partition: 'debug',
      time: '30',
      constraint: 'a100',
      account: 'ml',
    },
    facts: facts(
      'debug',
      [1, 2, 3, 4].map((i) => n(`node${i}`, { gpus: 4, gres: 'gpu:4', features: ['a100'] })),
    ),
  },
  {
    name: 'hostile',
    entry: "it's a $(trap).ts",
    input: {
      jobName: HOSTILE_NAME,
      env: { EVIL: '$(touch /tmp/pwned)', QUOTE: 'a\'b"c`d`', MULTI: 'line1\nline2' },
      output: '/home/alice/logs dir/$(x)/%j.out',
      sbatchArgs: ['--comment=x"; touch /tmp/pwned; "'],
    },
    args: HOSTILE_ARGS,
    facts: cpu,
  },
  // --container-image / --container-cmd: neither pyxis nor apptainer runs on the test cluster, so these goldens are what reviews them
  {
    name: 'container-image',
    entry: 'train.py',
    input: { nodes: 2, gpusPerNode: 8, partition: 'gpu', containerImage: 'nvcr.io#nvidia/pytorch:24.01-py3' },
    facts: gpu,
  },
  {
    name: 'container-cmd',
    entry: 'train.py',
    input: {
      nodes: 2,
      gpusPerNode: 8,
      partition: 'gpu',
      containerCmd: ['apptainer', 'exec', '--nv', '--bind', '/scratch/alice data', '/images/ray 2.60.sif'],
    },
    facts: gpu,
  },
  // Slurm's USR2 warning 300 s before the limit, INT to the entrypoint, requeued up to twice (append keeps the batch log)
  {
    name: 'preempt-requeue',
    entry: 'train.py',
    input: {
      nodes: 2,
      gpusPerNode: 8,
      partition: 'gpu',
      time: '4:00:00',
      preemptGrace: 300,
      preemptSignal: 'SIGINT',
      requeue: true,
      maxRestarts: 2,
    },
    facts: gpu,
  },
];

function planFor(c: Case): Plan {
  return planJob(buildSpec(c.entry, c.args ?? [], c.input, { cwd: tools.cwd }), c.facts, tools);
}

describe('golden sbatch scripts', () => {
  it.each(cases)('$name matches test/golden/$name.sh', (c) => {
    const plan = planFor(c);
    const script = renderSbatch(plan, { ...ctx, runtimeCommands: runtimeCommands(plan) });
    const file = new URL(`../golden/${c.name}.sh`, import.meta.url);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, script);
    expect(script).toBe(readFileSync(file, 'utf8'));
  });

  it.each(cases)('$name passes bash -n', (c) => {
    const dir = tempDir('raysl-render-');
    const path = join(dir, 'job.sh');
    writeFileSync(path, renderSbatch(planFor(c), ctx));
    expect(() => execFileSync('bash', ['-n', path], { stdio: 'pipe' })).not.toThrow();
  });

  it.each(cases)('$name: one exec line, #SBATCH lines before the first command', (c) => {
    const lines = renderSbatch(planFor(c), ctx).split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    expect(lines.filter((l) => l.startsWith('exec '))).toHaveLength(1);
    const firstCommand = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    expect(lines[firstCommand]).toBe('set -eo pipefail');
    expect(lines.slice(firstCommand).some((l) => l.startsWith('#SBATCH'))).toBe(false);
  });

  it.each(cases)('$name: the controller carries RAYSL_JOB_ID like every process of the job (issue 16)', (c) => {
    const dir = tempDir('raysl-render-');
    const path = join(dir, 'job.sh');
    // everything up to the exec, run by bash with the id Slurm gives the batch shell: what the exec'd controller inherits
    const lines = renderSbatch(planFor(c), ctx).split('\n');
    const upToExec = lines
      .slice(
        0,
        lines.findIndex((l) => l.startsWith('exec ')),
      )
      .filter((l) => !l.startsWith('module ') && !l.startsWith('source '))
      .join('\n');
    writeFileSync(path, `${upToExec}\nprintf %s "$RAYSL_JOB_ID"\n`);
    expect(
      execFileSync('bash', [path], { env: { PATH: process.env.PATH, SLURM_JOB_ID: '4711' }, encoding: 'utf8' }),
    ).toBe('4711');
  });
});

/**
 * sbatch's #SBATCH tokenizer as observed with sbatch 22.05 on the test cluster (src/render/quote.ts):
 * whitespace splits, "..." and '...' group, a backslash takes the next character literally, an
 * unquoted # ends the line. Only used to read our own lines back.
 */
function sbatchTokens(line: string): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) {
      cur = (cur ?? '') + line[++i];
    } else if (quote) {
      if (ch === quote) quote = undefined;
      else cur = (cur ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur = cur ?? '';
    } else if (ch === '#') {
      break;
    } else if (/\s/.test(ch)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + ch;
  }
  expect(quote).toBeUndefined();
  if (cur !== undefined) words.push(cur);
  return words;
}

describe('#SBATCH lines read back as the plan says', () => {
  it.each(cases)('$name', (c) => {
    const plan = planFor(c);
    const lines = renderSbatch(plan, ctx)
      .split('\n')
      .filter((l) => l.startsWith('#SBATCH '))
      .map((l) => sbatchTokens(l.slice('#SBATCH '.length)));
    const word = ([f, v]: [string, string]) => (v === '' ? f : `${f}=${v}`);
    const expected = [
      ...plan.sbatch.map(word),
      ...plan.sbatchExtra,
      ...(plan.hetjob ? ['hetjob', ...plan.hetjob[1].sbatch.map(word)] : []),
    ];
    expect(lines).toEqual(expected.map((w) => [w]));
  });
});

describe('hostile values are inert', () => {
  it('runs the script with a stand-in for node: no marker file, args and env arrive byte-identical', () => {
    const dir = tempDir('raysl-hostile-');
    const marker = join(dir, 'pwned');
    const payloads = [
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `x"; touch ${marker}; "`,
      `'; touch ${marker}; '`,
      `$(touch ${marker}) \n touch ${marker}`,
    ];
    const plan = planJob(
      buildSpec(
        't.ts',
        payloads,
        {
          jobName: `x"; touch ${marker}; "`,
          env: { P1: payloads[0]!, P2: payloads[1]!, P3: payloads[3]!, P4: payloads[4]! },
        },
        { cwd: dir },
      ),
      cpu,
      { ...tools, cwd: dir },
    );
    // the stand-in prints its argv, the P* variables and its stdin (the plan), NUL-separated, instead of starting a controller
    const standIn = join(dir, 'stand-in');
    writeFileSync(
      standIn,
      `#!/bin/bash\n{ printf '%s\\0' "$@"; printf '%s\\0' "$P1" "$P2" "$P3" "$P4"; cat; } > ${JSON.stringify(join(dir, 'out'))}\n`,
    );
    chmodSync(standIn, 0o755);
    const script = join(dir, 'job.sh');
    writeFileSync(script, renderSbatch(plan, { node: standIn, raysl: '/opt/raysl/dist/raysl.mjs' }));
    execFileSync('bash', [script], { cwd: dir, stdio: 'pipe', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });

    expect(existsSync(marker)).toBe(false);
    const out = readFileSync(join(dir, 'out'), 'utf8').split('\0').slice(0, -1);
    const all = readFileSync(join(dir, 'out'), 'utf8').split('\0');
    // argv carries no value of the plan: the plan (with the --env values) comes on stdin
    expect(out.slice(0, 4)).toEqual(['/opt/raysl/dist/raysl.mjs', 'controller', '--plan-from', '-']);
    expect(out.slice(4, 8)).toEqual([payloads[0], payloads[1], payloads[3], payloads[4]]);
    const received = JSON.parse(all[8]!) as Plan;
    expect(received).toEqual(plan);
    expect(received.entrypoint?.args).toEqual(payloads);
  });

  it('setup lines run like in a login shell: unset variables are fine, a failing line stops the job', () => {
    const dir = tempDir('raysl-setup-');
    const standIn = join(dir, 'stand-in');
    writeFileSync(standIn, `#!/bin/bash\necho "$SEEN" > ${JSON.stringify(join(dir, 'out'))}\n`);
    chmodSync(standIn, 0o755);
    const run = (setup: string[]) => {
      const plan = planJob(buildSpec('t.ts', [], { setup }, { cwd: dir }), cpu, { ...tools, cwd: dir });
      const script = join(dir, 'job.sh');
      writeFileSync(script, renderSbatch(plan, { node: standIn, raysl: '/opt/raysl/dist/raysl.mjs' }));
      rmSync(join(dir, 'out'), { force: true });
      return spawnSync('bash', [script], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }).status;
    };
    // module/conda/venv scripts read variables that may be unset (as `set -u` would refuse)
    expect(run(['export SEEN="x${RAYSL_SURELY_UNSET_VAR}y"'])).toBe(0);
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('xy\n');
    // a failing `module load` must not start a job without its environment
    expect(run(['false', 'export SEEN=ran'])).not.toBe(0);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it.each([
    ['job name', { jobName: 'a\nb' }, /--job-name must be a single line/],
    ['partition', { partition: 'gpu\n#SBATCH --nodes=99' }, /--partition must be a single line/],
    ['setup line', { setup: ['ok', 'module load x\nrm -rf ~'] }, /--setup must be a single line/],
    ['sbatch arg', { sbatchArgs: ['--comment=a\nb'] }, /--sbatch-arg must be a single line/],
    ['output', { output: '/x\r/y' }, /--output must be a single line/],
  ])('refuses a newline in the %s', (_what, input, message) => {
    const attempt = () =>
      renderSbatch(planJob(buildSpec('t.ts', [], input as JobInput, { cwd: '/w' }), cpu, tools), ctx);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });

  it('renderer refuses a newline smuggled into a plan directly', () => {
    const plan = planFor(cases[0]!);
    expect(() => renderSbatch({ ...plan, sbatch: [...plan.sbatch, ['--comment', 'a\nb']] }, ctx)).toThrow(
      /--comment must be a single line/,
    );
    expect(() => renderSbatch({ ...plan, setup: ['a\nb'] }, ctx)).toThrow(/--setup must be a single line/);
  });
});

describe('sbatchArgvFor', () => {
  it('submits the script with --parsable; every option is in the script', () => {
    expect(sbatchArgvFor(planFor(cases[0]!), '/j/job.sh')).toEqual(['sbatch', '--parsable', '/j/job.sh']);
  });
});

describe('raysl render (in-process)', () => {
  it('--json prints argv, script and plan; --no-check warns', async () => {
    const dir = tempDir('raysl-cli-');
    writeFileSync(join(dir, 'train.ts'), 'console.log(1)\n');
    const io = memIo({ home: dir });
    const code = await runCli(
      ['render', '--json', '--no-check', '-N', '2', '-c', '2', 'train.ts', '--', '--epochs', '3'],
      io,
    );
    expect(io.err()).toMatch(/--no-check/);
    expect(code).toBe(0);
    const r = JSON.parse(io.out()) as { argv: string[]; script: string; plan: Plan };
    expect(r.argv).toEqual(['sbatch', '--parsable', '<script>']);
    expect(r.plan.entrypoint).toMatchObject({ path: join(dir, 'train.ts'), args: ['--epochs', '3'], kind: 'tsx' });
    expect(r.plan.aggregate.cpus).toBe(4);
    expect(r.script).toMatch(
      /\nexec \S+ \S+raysl\.mjs controller --plan-from - <<'RAYSL_PLAN'\n\{"version":1,.*\}\nRAYSL_PLAN\n$/,
    );
  });

  it('applies the config profile under the flags', async () => {
    const dir = tempDir('raysl-cli-');
    writeFileSync(join(dir, 'train.ts'), '');
    writeFileSync(
      join(dir, 'raysl.config.json'),
      JSON.stringify({
        profiles: { default: { cpusPerTask: 2, setup: ['echo default'] }, big: { nodes: 3, jobDir: 'jobs' } },
      }),
    );
    const io = memIo({ home: dir });
    expect(await runCli(['render', '--json', '--no-check', '--profile', 'big', '-N', '2', 'train.ts'], io)).toBe(0);
    const { plan } = JSON.parse(io.out()) as { plan: Plan };
    expect(plan).toMatchObject({ nodes: 2, perNode: { cpus: 2 }, setup: ['echo default'], jobDir: join(dir, 'jobs') });
  });

  it('a missing entrypoint is a usage error with a hint', async () => {
    const dir = tempDir('raysl-cli-');
    const io = memIo({ home: dir });
    expect(await runCli(['render', '--no-check', 'nope.py'], io)).toBe(2);
    expect(io.err()).toMatch(/entrypoint nope\.py not found/);
    expect(io.err()).toMatch(/hint:/);
  });

  it('--help has examples', async () => {
    const io = memIo({ home: tmpdir() });
    expect(await runCli(['render', '--help'], io)).toBe(0);
    expect(io.out()).toMatch(/Examples:\n  \$ raysl render/);
    expect(io.out()).toMatch(/--sbatch-arg <arg>/);
  });
});
