/**
 * `ray start` argv (pure). Every port Ray opens is pinned from the job's block, so two jobs on one
 * node cannot collide and another job's raylet can never join ours (it would need our GCS port).
 * Ports Ray would otherwise pick at random (dashboard agent, metrics, runtime env agent, workers)
 * are exactly the ones that collide on shared nodes (NVIDIA-NeMo/RL#261, ray-project/ray#54321).
 */
import { InternalError } from '../core/errors.js';
import { rayFeatures, type RayVersion } from './ray-version.js';
import { RAY_PORT_NAMES, type RayPortName } from '../core/ports.js';

/** The named ports of portLayout('ray', ...) resolved against the job's block base. */
export type RayPorts = Record<RayPortName, number>;

export interface RayStartInput {
  role: 'head' | 'worker';
  /** --node-ip-address: this node's address on the chosen interface. */
  nodeIp: string;
  /** Head's address; workers join <headAddress>:<gcs>. */
  headAddress: string;
  ports: RayPorts;
  /** Inclusive [first, last] worker port range. */
  workerPorts: [number, number];
  tempDir: string;
  numCpus: number;
  numGpus: number;
  memoryBytes?: number;
  objectStoreBytes?: number;
}

const PORT_KEYS = RAY_PORT_NAMES;

function checkInput(input: RayStartInput): void {
  for (const key of PORT_KEYS) {
    const p = input.ports[key];
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      throw new InternalError(`ray port "${key}" must be an integer in 1..65535, received ${String(p)}`, {
        hint: 'this is a bug in the port layout; report it with the plan.json of the job',
      });
    }
  }
  const [lo, hi] = input.workerPorts;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)) {
    throw new InternalError(`ray worker port range must be [first <= last], received [${lo}, ${hi}]`, {
      hint: 'this is a bug in the port layout; report it with the plan.json of the job',
    });
  }
  if (input.nodeIp === '0.0.0.0' || input.headAddress === '0.0.0.0') {
    throw new InternalError('ray must bind a node address, received 0.0.0.0', {
      hint: 'this is a bug: the agent passes the node address, never the wildcard',
    });
  }
}

/** argv after the executable, e.g. ["start", "--head", ...]. Flags use "--flag=value" like Ray's docs. */
export function rayStartArgv(input: RayStartInput, version: RayVersion): string[] {
  checkInput(input);
  const f = rayFeatures(version);
  const p = input.ports;
  const argv = ['start'];
  const flag = (name: string, value: string | number): void => {
    argv.push(`--${name}=${value}`);
  };

  if (input.role === 'head') {
    argv.push('--head');
    flag('port', p.gcs);
  } else {
    flag('address', `${input.headAddress}:${p.gcs}`);
  }
  flag('node-ip-address', input.nodeIp);
  flag('node-manager-port', p.node_manager);
  flag('object-manager-port', p.object_manager);
  flag('min-worker-port', input.workerPorts[0]);
  flag('max-worker-port', input.workerPorts[1]);
  flag('dashboard-agent-grpc-port', p.dashboard_agent_grpc);
  flag('dashboard-agent-listen-port', p.dashboard_agent_listen);
  flag('metrics-export-port', p.metrics_export);
  if (f.runtimeEnvAgentPort) flag('runtime-env-agent-port', p.runtime_env_agent);
  if (input.role === 'head') {
    flag('ray-client-server-port', p.ray_client_server);
    flag('dashboard-host', input.nodeIp);
    flag('dashboard-port', p.dashboard);
    if (f.dashboardGrpcPort) flag('dashboard-grpc-port', p.dashboard_grpc);
  }
  // Before 2.51 a worker ignores --temp-dir (with a warning) and uses the head's path on its own disk.
  if (input.role === 'head' || f.workerTempDir) flag('temp-dir', input.tempDir);
  // Always explicit, 0 included: Ray would otherwise count GPUs Slurm did not grant to this job.
  flag('num-cpus', input.numCpus);
  flag('num-gpus', input.numGpus);
  if (input.memoryBytes !== undefined) flag('memory', input.memoryBytes);
  if (input.objectStoreBytes !== undefined) flag('object-store-memory', input.objectStoreBytes);
  argv.push('--disable-usage-stats');
  argv.push('--block');
  return argv;
}
