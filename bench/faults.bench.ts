/**
 * The fault matrix's figures: runs test/local/fault-matrix.test.ts and test/slurm/fault-matrix.test.ts
 * (the Slurm one needs the test cluster: scripts/dev-slurm.sh up) with RAYSL_FAULTS_RECORD set, so
 * each row writes its exit code, detect time and leftovers into bench/results/faults.json, then
 * prints a per-launcher summary (faults tried, leftovers, median detect time). RAYSL_SLURM_KEEP=1:
 * a shared test cluster the run found unhealthy and restarted is left up for the others using it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resultsDir } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(resultsDir, 'faults.json');
rmSync(out, { force: true });
const failed: string[] = [];
for (const tier of ['local', 'slurm']) {
  const r = spawnSync('npx', ['vitest', 'run', '--project', tier, `test/${tier}/fault-matrix.test.ts`], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, RAYSL_FAULTS_RECORD: out, RAYSL_SLURM_KEEP: '1' },
  });
  if (r.status !== 0) failed.push(tier);
}
const { rows } = JSON.parse(readFileSync(out, 'utf8')) as {
  rows: Array<{ launcher: string; detectMs: number | null; leftoverProcesses: number; leftoverDirs: number }>;
};
for (const l of ['local', 'slurm']) {
  const mine = rows.filter((r) => r.launcher === l);
  const detect = mine
    .map((r) => r.detectMs)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  const left = mine.reduce((n, r) => n + r.leftoverProcesses + r.leftoverDirs, 0);
  console.log(
    `${l}: ${mine.length} faults recorded, leftovers ${left}, median detect ${detect[Math.floor(detect.length / 2)] ?? '-'} ms`,
  );
}
console.log(`wrote ${out}${failed.length ? `; failing tiers: ${failed.join(', ')}` : ''}`);
process.exit(failed.length ? 1 : 0);
