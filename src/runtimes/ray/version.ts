/**
 * Ray version probe parsing and flag gating (pure).
 * Flags a version lacks are left out because the probe says so, never by guessing: `ray start`
 * is a click command, and click rejects an unknown option with exit 2 before starting anything.
 *
 * Checked against Ray's python/ray/scripts/scripts.py and release history:
 *   2.49.x (first line with `ray symmetric-run`), the 2.55 line, and 2.60.0, which the tests run.
 */
import { ClusterFormError } from '../../core/errors.js';

export interface RayVersion {
  major: number;
  minor: number;
  patch: number;
  /** As printed, e.g. "2.49.1" or "3.0.0.dev0". */
  raw: string;
}

// click's version_option prints "%(prog)s, version %(version)s", i.e. "ray, version 2.49.1".
const VERSION_LINE = /^ray, version (\d+)\.(\d+)\.(\d+)(\S*)/m;

export function parseRayVersion(stdout: string): RayVersion {
  const m = VERSION_LINE.exec(stdout);
  if (!m) {
    throw new ClusterFormError(
      `could not read the Ray version: expected "ray, version X.Y.Z" from \`ray --version\`, received ${JSON.stringify(stdout.trim().slice(0, 200))}`,
      { hint: "check that RAYSL_RAY_BIN (or `ray` on PATH) is Ray's own CLI from the environment the job activates" },
    );
  }
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    raw: `${m[1]}.${m[2]}.${m[3]}${m[4] ?? ''}`,
  };
}

function compareRayVersion(a: RayVersion, b: Pick<RayVersion, 'major' | 'minor' | 'patch'>): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function v(s: string): Pick<RayVersion, 'major' | 'minor' | 'patch'> {
  const [major = 0, minor = 0, patch = 0] = s.split('.').map(Number);
  return { major, minor, patch };
}

export function atLeast(version: RayVersion, min: string): boolean {
  return compareRayVersion(version, v(min)) >= 0;
}

/** The Ray raysl's tests run against (scripts/ray-venv.sh installs it); `render` previews its flags. */
export const RAY_TESTED_VERSION = '2.60.0';

/** The oldest Ray raysl drives; older versions lack pinnable ports we rely on. */
const MIN_RAY_VERSION = '2.9.0';

/**
 * What each version can do, by the evidence:
 * - `--dashboard-grpc-port`: the dashboard head stopped serving gRPC in ray-project/ray#51956 (2.45,
 *   flag kept but ignored) and the flag was deleted in ray-project/ray#53675 (June 2025); passing it
 *   to 2.48+ fails (NVIDIA-NeMo/Run#325). We pass it only where it still pins a real port: < 2.45.
 * - `--runtime-env-agent-port`: added in 2.7.1 (ray-project/ray#39919), below our minimum anyway.
 * - `--temp-dir` on workers: ignored with a warning until ray-project/ray#57735 (Oct 2025, 2.51);
 *   older workers use the head's temp dir path on their own disk.
 */
export interface RayFeatures {
  dashboardGrpcPort: boolean;
  runtimeEnvAgentPort: boolean;
  workerTempDir: boolean;
  /** The boot script (ray-boot.ts) relies on node.py/services.py internals read in 2.60's source only. */
  rayBoot: boolean;
}

export function rayFeatures(version: RayVersion): RayFeatures {
  return {
    dashboardGrpcPort: !atLeast(version, '2.45.0'),
    runtimeEnvAgentPort: atLeast(version, '2.7.1'),
    workerTempDir: atLeast(version, '2.51.0'),
    rayBoot: version.major === 2 && version.minor === 60,
  };
}

export function assertSupportedRayVersion(version: RayVersion): void {
  if (!atLeast(version, MIN_RAY_VERSION)) {
    throw new ClusterFormError(
      `Ray ${version.raw} is too old: raysl needs Ray >= ${MIN_RAY_VERSION} to pin every port`,
      {
        hint: `install a newer Ray in the job environment (raysl's tests run Ray ${RAY_TESTED_VERSION})`,
      },
    );
  }
}
