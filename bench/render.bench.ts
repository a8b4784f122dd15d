/**
 * Plan + render cost: in-process (planJob + renderSbatch on a 4x8-GPU job) and `raysl render` as a
 * process, start to exit, against a `node -e ''` baseline measured in the same run. With a Slurm
 * test cluster reachable (SLURM_CONF set), also `raysl render` with real sinfo facts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { hbsEsbuildPlugin } from '../scripts/hbs.mjs';
import { stats, timeSync, writeResult, type Stats } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'raysl.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} missing: run npm run build first`);

// tsx cannot import .hbs templates (precompiled when bundled); bundle the pure planner + renderer the way the CLI bundle does.
const work = mkdtempSync(join(tmpdir(), 'raysl-bench-render-'));
const entry = join(work, 'entry.ts');
writeFileSync(
  entry,
  `export { planJob } from ${JSON.stringify(join(root, 'src/core/plan.ts'))};
   export { renderSbatch } from ${JSON.stringify(join(root, 'src/render/sbatch.ts'))};
   export { buildSpec } from ${JSON.stringify(join(root, 'src/core/spec.ts'))};`,
);
const out = join(work, 'render.mjs');
await build({
  entryPoints: [entry],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  plugins: [hbsEsbuildPlugin],
  define: { RAYSL_VERSION: '"bench"' },
  logLevel: 'warning',
});
const lib = (await import(pathToFileURL(out).href)) as typeof import('../src/render/sbatch.js') &
  typeof import('../src/core/plan.js') &
  typeof import('../src/core/spec.js');

const nodes = [1, 2, 3, 4].map((i) => ({
  name: `gpu-00${i}`,
  cpus: 96,
  memoryMb: 1_031_000,
  gpus: 8,
  gres: 'gpu:a100:8',
  state: 'idle',
  partitions: ['gpu'],
  features: ['a100'],
}));
const facts = {
  source: 'sinfo' as const,
  partition: 'gpu',
  nodes,
  ephemeralPortRange: [32768, 60999] as [number, number],
};
const tools = {
  tsx: '/opt/raysl/node_modules/tsx/dist/cli.mjs',
  hook: 'file:///opt/raysl/dist/register-entry.mjs',
  node: '/usr/bin/node',
  cwd: '/home/u',
};
const spec = lib.buildSpec(
  'train.py',
  ['--epochs', '3'],
  {
    nodes: 4,
    gpusPerNode: 8,
    partition: 'gpu',
    time: '2:00:00',
    setup: ['module load cuda'],
    env: { NCCL_DEBUG: 'INFO' },
  },
  { cwd: '/home/u' },
);
const ctx = { node: '/usr/bin/node', raysl: '/opt/raysl/dist/raysl.mjs' };

const planOnly = timeSync(() => lib.planJob(spec, facts, tools), 2000, 200);
const planRender = timeSync(() => lib.renderSbatch(lib.planJob(spec, facts, tools), ctx), 2000, 200);

// process start-to-exit: interleave raysl and the baseline so machine noise hits both alike
writeFileSync(join(work, 'train.py'), 'print(1)\n');
const runs = 20;
function timeProcess(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}
const renderArgv = [bundle, 'render', '--no-check', '-N', '4', '-c', '8', 'train.py', '--', '--epochs', '3'];
const sinfoArgv = [bundle, 'render', '-N', '2', '--gpus-per-node', '2', 'train.py'];
const withSlurm = Boolean(process.env.SLURM_CONF && existsSync(process.env.SLURM_CONF));
const baseline: number[] = [];
const render: number[] = [];
const renderSinfo: number[] = [];
const version: number[] = [];
for (let i = 0; i < runs + 2; i++) {
  const b = timeProcess(['-e', '']);
  const r = timeProcess(renderArgv);
  const s = withSlurm ? timeProcess(sinfoArgv) : NaN;
  const v = timeProcess([bundle, '--version']);
  if (i < 2) continue; // warm the page cache first
  baseline.push(b);
  render.push(r);
  version.push(v);
  if (withSlurm) renderSinfo.push(s);
}
const b = stats(baseline);
const r = stats(render);
const result: Record<string, unknown> = {
  inProcess: { planMs: planOnly, planAndRenderMs: planRender, job: '4 nodes x 8 GPUs, ray, setup + env' },
  process: {
    baselineNodeEmpty: b,
    // --version loads the entry file alone (bench/cli-start.bench.ts has the cold-start comparison)
    rayslVersion: stats(version),
    rayslRenderNoCheck: r,
    overheadMedianMs: Math.round((r.medianMs - b.medianMs) * 10) / 10,
    ...(withSlurm
      ? { rayslRenderWithSinfo: stats(renderSinfo) as Stats }
      : { rayslRenderWithSinfo: 'skipped: no SLURM_CONF' }),
  },
};
writeResult('render', result);
