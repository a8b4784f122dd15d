/**
 * Finding Ray's CLI and asking its version. `ray` on PATH unless RAYSL_RAY_BIN names another
 * executable (a venv's ray, or the stand-in in tests).
 */
import { execFile } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync, readdirSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { underLocalLauncher } from '../../core/env-names.js';
import { ClusterFormError } from '../../core/errors.js';
import { parseRayVersion, type RayVersion } from './version.js';

export function rayBin(env: NodeJS.ProcessEnv): string {
  const bin = env['RAYSL_RAY_BIN'];
  return bin !== undefined && bin !== '' ? bin : 'ray';
}

/** Importing ray takes a few seconds on a cold node; this bounds a wedged interpreter, not a normal one. */
const PROBE_TIMEOUT_MS = 60_000;

/** Where `bin` resolves: itself when it has a slash, else the first executable of that name on PATH. */
export function resolveExecutable(bin: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = bin.includes('/')
    ? [bin]
    : (env['PATH'] ?? '')
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(d, bin));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The Python a `ray` console script runs (its #! line, an absolute path to a python), or undefined
 * when that is not plain (a #! through env, a wrapper, not found).
 */
export function rayInterpreter(bin: string, env: NodeJS.ProcessEnv): string | undefined {
  const script = resolveExecutable(bin, env);
  if (script === undefined) return undefined;
  try {
    const head = Buffer.alloc(512);
    const fd = openSync(script, 'r');
    const n = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const interpreter = /^#!(\S+)/.exec(head.subarray(0, n).toString('utf8'))?.[1];
    return interpreter !== undefined && isAbsolute(interpreter) && /python[\d.]*$/.test(interpreter)
      ? interpreter
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The version of the Ray that a `ray` console script imports, read from the install's metadata
 * (<prefix>/lib/python3.X/site-packages/ray-<version>.dist-info, <prefix> from the script's #! line)
 * instead of starting Python: `ray --version` imports Ray, 1.3-1.9 s and 0.45 CPU-s per node on
 * the test cluster, right on the head's path to "started". Undefined whenever that is not
 * certain (PYTHONPATH could shadow the install, a #! through env, no or several dist-infos); the
 * caller then asks `ray --version`.
 */
export function installedRayVersion(bin: string, env: NodeJS.ProcessEnv): RayVersion | undefined {
  if (env['PYTHONPATH']) return undefined;
  const interpreter = rayInterpreter(bin, env);
  if (interpreter === undefined) return undefined;
  try {
    const lib = join(dirname(dirname(interpreter)), 'lib');
    const found = readdirSync(lib)
      .filter((d) => /^python\d+\.\d+$/.test(d))
      .flatMap((py) =>
        readdirSync(join(lib, py, 'site-packages')).flatMap(
          (d) => /^ray-(\d+\.\d+\.\d+\S*)\.dist-info$/.exec(d)?.[1] ?? [],
        ),
      );
    return found.length === 1 ? parseRayVersion(`ray, version ${found[0]}`) : undefined;
  } catch {
    return undefined;
  }
}

export function probeRayVersion(bin: string, env: NodeJS.ProcessEnv): Promise<RayVersion> {
  const installed = installedRayVersion(bin, env);
  if (installed !== undefined) return Promise.resolve(installed);
  return new Promise((resolve, reject) => {
    execFile(bin, ['--version'], { env, timeout: PROBE_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const what =
          code === 'ENOENT'
            ? `Ray's CLI "${bin}" was not found`
            : `\`${bin} --version\` failed (${err.message.split('\n')[0]}): ${String(stderr).trim().slice(-300)}`;
        reject(
          new ClusterFormError(`${what}; expected an executable printing "ray, version X.Y.Z"`, {
            hint: underLocalLauncher(env)
              ? 'activate the environment that has Ray in this shell before raysl run --local / up --local, or set RAYSL_RAY_BIN to its `ray`'
              : 'activate the environment that has Ray in the job setup (--setup), or set RAYSL_RAY_BIN to its `ray`',
            cause: err,
          }),
        );
        return;
      }
      try {
        resolve(parseRayVersion(String(stdout)));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** --preflight: is Ray's CLI there (without starting Python)? */
export function locateRay(env: NodeJS.ProcessEnv): { found?: string; problem?: string } {
  const bin = rayBin(env);
  const found = resolveExecutable(bin, env);
  return found !== undefined ? { found } : { problem: `Ray's CLI "${bin}" was not found (PATH or RAYSL_RAY_BIN)` };
}
