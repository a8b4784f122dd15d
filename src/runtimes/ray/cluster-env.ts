/**
 * RAY_* settings raysl gives Ray's daemons by default (pure), each only when the job's environment
 * does not set it already (`--env NAME=VALUE` or the environment `--setup` makes win). The review of
 * the other production settings, and why they stay knobs, is in docs/ray-start.md.
 */
export interface RayClusterSetting {
  name: string;
  value: string;
  /** Ray's default and where Ray 2.60 reads it. */
  source: string;
  why: string;
}

export const RAY_CLUSTER_DEFAULTS: readonly RayClusterSetting[] = [
  {
    name: 'RAY_worker_register_timeout_seconds',
    value: '300',
    source:
      'src/ray/common/ray_config_def.h worker_register_timeout_seconds (60); raylet worker_pool.cc kills a worker that has not registered by then',
    why: 'a Python worker that imports a large environment from a shared filesystem, on a node that starts many at once, can take over 60 s; Ray then kills it and the task fails ("worker registration timed out"). A longer limit costs nothing when workers are quick',
  },
];

/** `env` with every default it does not set itself. */
export function withRayClusterDefaults(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const s of RAY_CLUSTER_DEFAULTS) if (out[s.name] === undefined || out[s.name] === '') out[s.name] = s.value;
  return out;
}
