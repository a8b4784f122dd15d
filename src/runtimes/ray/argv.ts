/**
 * `ray start` argv (pure). Every port Ray opens is pinned from the job's block, so two jobs on one
 * node cannot collide and another job's raylet can never join ours (it would need our GCS port).
 * Ports Ray would otherwise pick at random (dashboard agent, metrics, runtime env agent, workers)
 * are exactly the ones that collide on shared nodes (NVIDIA-NeMo/RL#261, ray-project/ray#54321).
 */
import { resourcesForRole } from '../../core/het-plan.js';
import { InternalError } from '../../core/errors.js';
import { customResourcesFor } from '../../core/resources.js';
import { parseRayVersion, RAY_TESTED_VERSION, rayFeatures, type RayVersion } from './version.js';
import { RAY_PORT_NAMES, type RayPortName } from '../../core/ports.js';
import type { NodeResources, Plan, PortLayout } from '../../core/types.js';
import { resolveRayPorts } from './ports.js';
import { servePreview } from './serve.js';

/** The named ports of portLayout('ray', ...) resolved against the job's block base. */
export type RayPorts = Record<RayPortName, number>;

export interface RayStartInput {
  role: 'head' | 'worker';
  /** --node-ip-address: this node's address on the chosen interface. */
  nodeIp: string;
  /** Head's address; workers join <headAddress>:<headGcsPort>. */
  headAddress: string;
  /** The head's GCS port (the same as ports.gcs unless simulated nodes share one port space). */
  headGcsPort: number;
  ports: RayPorts;
  /** Inclusive [first, last] worker port range. */
  workerPorts: [number, number];
  tempDir: string;
  numCpus: number;
  numGpus: number;
  memoryBytes?: number;
  objectStoreBytes?: number;
  /** --resources: this node's custom resources (customResourcesFor); left out when empty. */
  customResources?: Record<string, number>;
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

/** One `--name=value` of `ray start`; `port` marks values taken from the job's port block. */
interface RayFlag {
  name: string;
  value: string | number;
  port?: boolean;
}

function rayStartFlags(input: RayStartInput, version: RayVersion): { head: boolean; flags: RayFlag[] } {
  checkInput(input);
  const f = rayFeatures(version);
  const p = input.ports;
  const flags: RayFlag[] = [];
  const flag = (name: string, value: string | number, port = false): void =>
    void flags.push({ name, value, ...(port ? { port } : {}) });
  const head = input.role === 'head';

  if (head) flag('port', p.gcs, true);
  else flag('address', `${input.headAddress}:${input.headGcsPort}`);
  flag('node-ip-address', input.nodeIp);
  flag('node-manager-port', p.node_manager, true);
  flag('object-manager-port', p.object_manager, true);
  flag('min-worker-port', input.workerPorts[0], true);
  flag('max-worker-port', input.workerPorts[1], true);
  flag('dashboard-agent-grpc-port', p.dashboard_agent_grpc, true);
  flag('dashboard-agent-listen-port', p.dashboard_agent_listen, true);
  flag('metrics-export-port', p.metrics_export, true);
  if (f.runtimeEnvAgentPort) flag('runtime-env-agent-port', p.runtime_env_agent, true);
  if (head) {
    flag('ray-client-server-port', p.ray_client_server, true);
    flag('dashboard-host', input.nodeIp);
    flag('dashboard-port', p.dashboard, true);
    if (f.dashboardGrpcPort) flag('dashboard-grpc-port', p.dashboard_grpc, true);
  }
  // Before 2.51 a worker ignores --temp-dir (with a warning) and uses the head's path on its own disk.
  if (head || f.workerTempDir) flag('temp-dir', input.tempDir);
  // Always explicit, 0 included: Ray would otherwise count GPUs Slurm did not grant to this job.
  flag('num-cpus', input.numCpus);
  flag('num-gpus', input.numGpus);
  if (input.memoryBytes !== undefined) flag('memory', input.memoryBytes);
  if (input.objectStoreBytes !== undefined) flag('object-store-memory', input.objectStoreBytes);
  const custom = input.customResources ?? {};
  // names sorted: the same map gives the same argv (and the same log line) on every node
  if (Object.keys(custom).length > 0)
    flag(
      'resources',
      JSON.stringify(Object.fromEntries(Object.entries(custom).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))),
    );
  return { head, flags };
}

/**
 * Environment `ray start` needs besides its flags (pure). The head's two metrics servers have no
 * flag and bind 0.0.0.0 at fixed ports unless these name others (autoscaler/_private/constants.py,
 * dashboard/consts.py). Draining on SIGTERM waits up to 30 s for running tasks: pointless when the
 * job is over, so it is off and `ray start` stops its daemons at once.
 */
export function rayStartEnv(input: Pick<RayStartInput, 'role' | 'ports'>): Record<string, string> {
  const env: Record<string, string> = { RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S: '0' };
  if (input.role === 'head') {
    env.AUTOSCALER_METRIC_PORT = String(input.ports.autoscaler_metrics);
    env.DASHBOARD_METRIC_PORT = String(input.ports.dashboard_metrics);
  }
  return env;
}

function formatArgv(head: boolean, flags: RayFlag[], value: (f: RayFlag) => string): string[] {
  return [
    'start',
    ...(head ? ['--head'] : []),
    ...flags.map((f) => `--${f.name}=${value(f)}`),
    '--disable-usage-stats',
    '--block',
  ];
}

/** argv after the executable, e.g. ["start", "--head", ...]. Flags use "--flag=value" like Ray's docs. */
export function rayStartArgv(input: RayStartInput, version: RayVersion): string[] {
  const { head, flags } = rayStartFlags(input, version);
  return formatArgv(head, flags, (f) => String(f.value));
}

/**
 * The `ray start` command line of a head or a worker as `render` shows it: ports as B+<offset>
 * (B, the block's base, is chosen at run time), addresses and sizes that only the node knows as
 * <placeholders>. Built from the same flags as rayStartArgv, so the preview cannot drift.
 */
function rayStartPreview(
  role: 'head' | 'worker',
  layout: PortLayout,
  perNode: NodeResources,
  version: RayVersion,
  customResources: Record<string, number> | 'per node' = {},
): string {
  const { ports, workerPorts } = resolveRayPorts(0, layout);
  const { head, flags } = rayStartFlags(
    {
      role,
      nodeIp: role === 'head' ? '<head address>' : '<node address>',
      headAddress: '<head address>',
      headGcsPort: ports.gcs,
      ports,
      workerPorts,
      tempDir: '<temp dir>',
      numCpus: perNode.cpus,
      numGpus: perNode.gpus,
      memoryBytes: 0,
      objectStoreBytes: 0,
      customResources: customResources === 'per node' ? { '<per node>': 0 } : customResources,
    },
    version,
  );
  const env = Object.entries(rayStartEnv({ role, ports })).map(
    ([k, v]) => `${k}=${k.endsWith('_PORT') ? `B+${v}` : v}`,
  );
  return [
    ...env,
    'ray',
    ...formatArgv(head, flags, (f) => {
      if (f.port) return `B+${f.value}`;
      if (f.name === 'address') return `<head address>:B+${ports.gcs}`;
      if (f.name === 'memory' || f.name === 'object-store-memory') return '<sized at start>';
      if (f.name === 'resources' && customResources === 'per node') return '<per node, see resources above>';
      return String(f.value);
    }),
  ].join(' ');
}

/** What each node will run, for the script's header (ray: the `ray start` lines, ports relative to B). */
export function runtimeCommands(plan: Plan): Array<{ role: string; command: string }> {
  if (plan.runtime !== 'ray') return [];
  const version = parseRayVersion(`ray, version ${RAY_TESTED_VERSION}`);
  const roles = plan.nodes > 1 ? (['head', 'worker'] as const) : (['head'] as const);
  const starts = roles.map((role) => ({
    role,
    command: rayStartPreview(
      role,
      plan.portLayout,
      resourcesForRole(plan, role),
      version,
      previewResources(plan, role),
    ),
  }));
  return [...starts, { role: 'serve', command: servePreview(plan.portLayout) }];
}

/** The head's custom resources, or the workers' when every worker has the same, else 'per node'. */
function previewResources(plan: Plan, role: 'head' | 'worker'): Record<string, number> | 'per node' {
  if (role === 'head') return customResourcesFor(plan.resources, { index: 0, role });
  const maps = new Set<string>();
  for (let index = 1; index < plan.nodes; index++)
    maps.add(JSON.stringify(customResourcesFor(plan.resources, { index, role })));
  return maps.size > 1 ? 'per node' : customResourcesFor(plan.resources, { index: 1, role });
}
