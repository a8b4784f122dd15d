// `npm test`: build the bundle, type-check, run every vitest project (unit, local, slurm; the slurm project's
// global setup starts the real Slurm test cluster), then print one closing summary line that CI
// and people can read: "tests: N passed, N failed, N skipped". Extra args go to vitest.
// A skipped or todo test fails the run unless scripts/allowed-skips.mjs names it with a reason
// (printed); a test that silently stops running has stopped testing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowedSkips } from './allowed-skips.mjs';
import { checkSkips, describeSkips } from './skip-check.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (argv) => spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: 'inherit' });

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

const dir = mkdtempSync(join(tmpdir(), 'raysl-test-'));
const report = join(dir, 'vitest.json');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const result = run([process.execPath, vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)]);

// vitest reports the tests a -t filter left out as skipped: those are not held against the run
const nameFiltered = process.argv.slice(2).some((a) => a === '-t' || a.startsWith('-t=') || a.startsWith('--testNamePattern'));
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
