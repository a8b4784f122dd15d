/**
 * CLI cold start: `raysl --version`, `raysl --help` and `raysl render -N 4 examples/train.py --no-check`
 * as processes, start to exit, against `node -e 0` in the same run (interleaved, so machine noise hits
 * all alike). Also what each one loads (files and bytes of the bundle: scripts/bundle-closure.mjs). Targets (issue 10): --version within 1.5x and render within 2x of `node -e 0`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkNamed, closure } from '../scripts/bundle-closure.mjs';
import { stats, writeResult } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'raysl');
const bundle = join(root, 'dist', 'raysl.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} missing: run npm run build first`);

const cases: Record<string, string[]> = {
  nodeEmpty: ['-e', '0'],
  version: [bin, '--version'],
  help: [bin, '--help'],
  render: [bin, 'render', '-N', '4', 'examples/train.py', '--no-check'],
};
const runs = 20;
const warmup = 2;

function timeProcess(argv: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < runs + warmup; i++) {
  for (const [name, argv] of Object.entries(cases)) {
    const ms = timeProcess(argv);
    if (i >= warmup) samples[name]!.push(ms); // the first runs warm the page cache
  }
}

const dist = join(root, 'dist');
const loaded = (...chunks: string[]) => {
  const c = closure(bundle, ...chunks.map((n) => chunkNamed(dist, n)));
  return { files: c.files.length, bytes: c.bytes };
};

const st = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)]));
const base = st.nodeEmpty!.medianMs;
const ratio = (k: string) => Math.round((st[k]!.medianMs / base) * 100) / 100;
writeResult('cli-start', {
  runs,
  process: st,
  ratioToNodeEmpty: { version: ratio('version'), help: ratio('help'), render: ratio('render') },
  targets: { version: 1.5, render: 2 },
  met: { version: ratio('version') <= 1.5, render: ratio('render') <= 2 },
  loads: {
    version: loaded(),
    help: loaded('main'),
    render: loaded('main', 'render'),
    agent: loaded('main', 'agent'),
    controller: loaded('main', 'controller'),
  },
});
