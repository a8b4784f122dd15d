/**
 * Ray's token authentication (Ray >= 2.52; pure). With RAY_AUTH_MODE=token every control-plane
 * service (GCS, raylet, dashboard, Jobs API) refuses requests without the token, which Ray reads
 * from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token
 * (python/ray/_private/authentication/authentication_token_setup.py). raysl gives every daemon and
 * the entrypoint the job's secret through its 0600 file, never argv or a log line, and drops an
 * inherited RAY_AUTH_TOKEN so that no other secret wins. With auth off it says `disabled`
 * explicitly: with RAY_AUTH_MODE unset, a token left in ~/.ray/auth_token turns auth on by itself.
 */
import type { RayAuth } from '../../core/types.js';
import { atLeast, type RayVersion } from './version.js';

const RAY_AUTH_MIN_VERSION = '2.52.0';

export interface RayAuthSetup {
  /** Variables to set; `undefined` = remove from the inherited environment. */
  env: Record<string, string | undefined>;
  /** What the user should read in the job's log, when anything. */
  note?: string;
}

export function rayAuthEnv(mode: RayAuth, tokenFile: string, version?: RayVersion): RayAuthSetup {
  if (version !== undefined && !atLeast(version, RAY_AUTH_MIN_VERSION)) {
    return {
      env: {},
      note: `Ray ${version.raw} has no token authentication (it came in ${RAY_AUTH_MIN_VERSION}): this cluster's dashboard, Jobs API and GCS accept anyone who can reach the head's ports`,
    };
  }
  if (mode === 'off') {
    return {
      env: { RAY_AUTH_MODE: 'disabled', RAY_AUTH_TOKEN: undefined, RAY_AUTH_TOKEN_PATH: undefined },
      note: "Ray's token authentication is off (--ray-auth off): the dashboard, Jobs API and GCS accept anyone who can reach the head's ports",
    };
  }
  return { env: { RAY_AUTH_MODE: 'token', RAY_AUTH_TOKEN_PATH: tokenFile, RAY_AUTH_TOKEN: undefined } };
}

/** Applies a setup's variables to an environment (a copy). */
export function withRayAuth(env: NodeJS.ProcessEnv, setup: RayAuthSetup): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(setup.env)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
