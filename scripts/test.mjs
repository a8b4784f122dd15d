// `npm test`: build the bundle, type-check, run every vitest project (unit, local, slurm; the slurm project's
// global setup starts the real Slurm test cluster), then print one closing summary line that CI
// and people can read: "tests: N passed, N failed, N skipped". Extra args go to vitest.
// A skipped or todo test fails the run unless scripts/allowed-skips.mjs names it with a reason
// (printed); a test that silently stops running has stopped testing.
//
// `--slurm 24.11` (e.g. `npm run test:slurm24`): the Slurm tier against the Slurm 24.11 test cluster
// instead of the host's 22.05 one. The cluster is started first (scripts/dev-slurm.sh --slurm 24.11
// up, from its cached root filesystem) and vitest runs inside that root filesystem, so every Slurm
// client raysl and the tests call is 24.11's; the cluster is stopped afterwards if this run started
// it (RAYSL_SLURM_KEEP=1 leaves it up for the next run).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowedSkips } from './allowed-skips.mjs';
import { checkSkips, describeSkips } from './skip-check.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (argv) => spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: 'inherit' });

const args = process.argv.slice(2);
const slurmAt = args.findIndex((a) => a === '--slurm' || a.startsWith('--slurm='));
const slurmVersion = slurmAt < 0 ? undefined : args[slurmAt].startsWith('--slurm=') ? args[slurmAt].slice('--slurm='.length) : args[slurmAt + 1];
if (slurmAt >= 0) args.splice(slurmAt, args[slurmAt].startsWith('--slurm=') ? 1 : 2);
if (slurmVersion !== undefined && slurmVersion !== '22.05' && slurmVersion !== '24.11') {
  process.stderr.write(`raysl test: --slurm must be 22.05 or 24.11 (received '${slurmVersion ?? ''}')\n`);
  process.exit(2);
}
const inRootfs = slurmVersion === '24.11';
const devSlurm = join(root, 'scripts/dev-slurm.sh');

const build = run([process.execPath, join(root, 'scripts/build.mjs')]);
if (build.status !== 0) {
  process.stderr.write('raysl test: the build failed; no test ran\n');
  process.exit(build.status ?? 1);
}

// the bundle is built by esbuild, which does not type-check: tsc does, for src, test and bench
const typecheck = run([process.execPath, join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root]);
if (typecheck.status !== 0) {
  process.stderr.write('raysl test: tsc --noEmit found type errors; no test ran\n');
  process.exit(typecheck.status ?? 1);
}

let startedCluster = false;
if (inRootfs) {
  // the Ray venv is made (or checked) on the host: inside, its absence must fail, not rebuild it
  const venv = run(['bash', join(root, 'scripts/ray-venv.sh')]);
  if (venv.status !== 0) process.exit(venv.status ?? 1);
  startedCluster = run(['bash', devSlurm, '--slurm', slurmVersion, 'status']).status !== 0;
  const up = startedCluster ? run(['bash', devSlurm, '--slurm', slurmVersion, 'up']) : { status: 0 };
  if (up.status !== 0) {
    process.stderr.write(`raysl test: scripts/dev-slurm.sh --slurm ${slurmVersion} up failed; no test ran\n`);
    process.exit(up.status ?? 1);
  }
}

// /tmp: the Slurm 24.11 root filesystem sees it at the same path
const dir = mkdtempSync(join(tmpdir(), 'raysl-test-'));
const report = join(dir, 'vitest.json');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const vitestArgv = [process.execPath, vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args];
const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
const result = inRootfs
  ? run(['bash', devSlurm, '--slurm', slurmVersion, 'enter', `RAYSL_SLURM_KEEP=1 exec ${vitestArgv.map(quote).join(' ')}`])
  : run(vitestArgv);
if (startedCluster && process.env.RAYSL_SLURM_KEEP !== '1') {
  // `down` removes the cluster's directory: keep the job dirs and daemon logs of a failed run
  if (result.status !== 0) {
    const clusterDir = process.env.RAYSL_SLURM_DIR ?? '/tmp/raysl-slurm24';
    const kept = mkdtempSync(join(tmpdir(), 'raysl-slurm24-failed-'));
    run(['cp', '-a', join(clusterDir, 'jobs'), join(clusterDir, 'log'), kept]);
    process.stderr.write(`raysl test: the failed run's job dirs and Slurm logs are in ${kept}\n`);
  }
  run(['bash', devSlurm, '--slurm', slurmVersion, 'down']);
}

// vitest reports the tests a -t filter left out as skipped: those are not held against the run
const nameFiltered = args.some((a) => a === '-t' || a.startsWith('-t=') || a.startsWith('--testNamePattern'));
let summary;
let skips;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  summary = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests, suitesFailed: r.numFailedTestSuites };
  skips = checkSkips(r, allowedSkips, { root, nameFiltered });
} catch {
  summary = undefined;
}
rmSync(dir, { recursive: true, force: true });

if (summary) {
  process.stdout.write(`\ntests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped\n`);
  if (summary.suitesFailed > 0) process.stdout.write(`(failed suites: ${summary.suitesFailed}; see above)\n`);
  for (const line of describeSkips(skips)) process.stdout.write(`${line}\n`);
} else {
  process.stdout.write('\nraysl test: vitest wrote no report (it crashed or was interrupted)\n');
}
const code = result.status ?? 1;
if (code !== 0) process.exit(code);
if (!summary || summary.passed === 0) process.exit(1);
process.exit(skips.ok ? 0 : 1);
