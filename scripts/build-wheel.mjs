// `npm run build:wheel [-- --out <dir>] [--bundle-built]`: builds the bundle (scripts/build.mjs; not with
// --bundle-built, which packs dist/ as it is: the test suite builds once and other tests run the CLI
// from dist/ meanwhile, so a rebuild there would swap its chunks under them), then the `raysl` wheel
// (python/pyproject.toml, hatchling) from a staging folder holding only what the wheel needs:
//   raysl/__init__.py, raysl/__main__.py     the `raysl` console script (execs the bundle with Node)
//   raysl/_package/package.json              name + version (raysl finds its root by it; hatchling reads the version)
//   raysl/_package/dist/*.mjs, chunks/*.mjs  the bundle
// No source maps (Node reads them only under --enable-source-maps, and they are 3/4 of dist/), no .d.ts
// (an editor does not look for types in a venv), no tsx (.ts entrypoints use Node's own type stripping).
// Prints the wheel's path on stdout. RAYSL_PYTHON names the Python whose pip builds it (default python3);
// pip fetches hatchling from the package index (build isolation) or reuses its cache.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--out');
const out = resolve(outIndex >= 0 ? (process.argv[outIndex + 1] ?? '') : join(root, 'build', 'wheel'));
const python = process.env.RAYSL_PYTHON || 'python3';

function run(argv, what) {
  const r = spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    process.stderr.write(`build-wheel: ${what} failed (${r.error?.message ?? `exit ${r.status}`})\n`);
    process.exit(1);
  }
}

if (!process.argv.includes('--bundle-built')) {
  run([process.execPath, join(root, 'scripts/build.mjs')], 'the bundle build (scripts/build.mjs)');
}

const stage = mkdtempSync(join(tmpdir(), 'raysl-wheel-'));
try {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const pkgDir = join(stage, 'raysl', '_package');
  cpSync(join(root, 'python'), stage, { recursive: true, filter: (src) => !/(__pycache__|\.pyc)$/.test(src) });
  cpSync(join(root, 'docs', 'install.md'), join(stage, 'README.md'));
  mkdirSync(join(pkgDir, 'dist', 'chunks'), { recursive: true });
  const subset = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    type: pkg.type,
    license: pkg.license,
    engines: pkg.engines,
  };
  writeFileSync(join(pkgDir, 'package.json'), `${JSON.stringify(subset, null, 2)}\n`);
  for (const dir of ['dist', 'dist/chunks']) {
    for (const f of readdirSync(join(root, dir)).filter((f) => f.endsWith('.mjs')))
      cpSync(join(root, dir, f), join(pkgDir, dir, f));
  }
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out).filter((f) => /^raysl-.*\.whl$/.test(f))) rmSync(join(out, f));
  run(
    [python, '-m', 'pip', 'wheel', '--disable-pip-version-check', '--quiet', '--no-deps', '--wheel-dir', out, stage],
    `${python} -m pip wheel`,
  );
} finally {
  rmSync(stage, { recursive: true, force: true });
}
const wheels = readdirSync(out).filter((f) => /^raysl-.*\.whl$/.test(f));
if (wheels.length !== 1) {
  process.stderr.write(`build-wheel: expected one raysl wheel in ${out}, found ${wheels.length}\n`);
  process.exit(1);
}
process.stdout.write(`${join(out, wheels[0])}\n`);
