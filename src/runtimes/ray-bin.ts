/**
 * Finding Ray's CLI and asking its version. `ray` on PATH unless RAYSL_RAY_BIN names another
 * executable (a venv's ray, or the stand-in in tests).
 */
import { execFile } from 'node:child_process';
import { ClusterFormError } from '../core/errors.js';
import { parseRayVersion, type RayVersion } from './ray-version.js';

export function rayBin(env: NodeJS.ProcessEnv): string {
  const bin = env['RAYSL_RAY_BIN'];
  return bin !== undefined && bin !== '' ? bin : 'ray';
}

/** Importing ray takes a few seconds on a cold node; this bounds a wedged interpreter, not a normal one. */
const PROBE_TIMEOUT_MS = 60_000;

export function probeRayVersion(bin: string, env: NodeJS.ProcessEnv): Promise<RayVersion> {
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
            hint: 'activate the environment that has Ray in the job setup (--setup), or set RAYSL_RAY_BIN to its `ray`',
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
