// Checks a vitest JSON report for skipped and todo tests against scripts/allowed-skips.mjs. Pure:
// report data in, verdict out; scripts/test.mjs prints it and sets the exit code.
import { relative } from 'node:path';

const NOT_RUN = new Set(['skipped', 'pending', 'todo', 'disabled']);

/** "<file> > <describe> > <title>", the name an allow-list entry uses. */
export function testName(root, file, assertion) {
  return [
    relative(root, file),
    ...assertion.ancestorTitles.filter((t) => t !== relative(root, file)),
    assertion.title,
  ].join(' > ');
}

/**
 * @param report vitest's JSON report
 * @param allowed the allow-list
 * @param opts root: paths are shown relative to it; nameFiltered: a -t filter was given, so tests
 *   it left out read as skipped and are not held against the run
 */
export function checkSkips(report, allowed, opts) {
  const byName = new Map(allowed.map((a) => [a.test, a]));
  const notRun = [];
  for (const file of report.testResults ?? []) {
    for (const a of file.assertionResults ?? []) {
      if (NOT_RUN.has(a.status)) notRun.push({ name: testName(opts.root, file.name, a), status: a.status });
    }
  }
  const allowedHits = notRun
    .filter((t) => byName.has(t.name))
    .map((t) => ({ ...t, reason: byName.get(t.name).reason }));
  const unexpected = opts.nameFiltered ? [] : notRun.filter((t) => !byName.has(t.name));
  const filteredOut = opts.nameFiltered ? notRun.filter((t) => !byName.has(t.name)).length : 0;
  return { allowed: allowedHits, unexpected, filteredOut, ok: unexpected.length === 0 };
}

/** The verdict as lines for the end of the run. */
export function describeSkips(v) {
  const lines = v.allowed.map((t) => `skipped on purpose: ${t.name}: ${t.reason}`);
  if (v.filteredOut > 0) lines.push(`${v.filteredOut} test(s) left out by the -t name filter (not checked)`);
  for (const t of v.unexpected) lines.push(`${t.status === 'todo' ? 'todo' : 'skipped'} without a reason: ${t.name}`);
  if (v.unexpected.length > 0)
    lines.push('hint: make the test run, or add it to scripts/allowed-skips.mjs with the reason it may be skipped');
  return lines;
}
