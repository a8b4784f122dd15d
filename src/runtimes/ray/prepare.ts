/**
 * One node's Ray, decided before anything starts (pure): from the node's context and a few facts
 * read from the node (Ray's version, its network interfaces, memory, /dev/shm, the `ray` script's
 * Python), the `ray start` command, its environment, the ports that must answer, and the paths it
 * uses. launch.ts writes the files and starts it; stop.ts ends it.
 */
import { join, relative } from 'node:path';
import { TOKEN_ENV } from '../../core/env-names.js';
import { resolveNodeIp, type InterfaceTable } from '../iface.js';
import type { RuntimeNodeContext } from '../types.js';
import { rayStartArgv, rayStartEnv, type RayPorts } from './argv.js';
import { rayAuthEnv, withRayAuth } from './auth.js';
import { RAY_BOOT_DIR, RAY_BOOT_FILE } from './boot.js';
import { withRayClusterDefaults } from './cluster-env.js';
import { planRayMemory } from './memory.js';
import { resolveRayPorts } from './ports.js';
import { serveDaemonEnv } from './serve.js';
import { chooseRayTempDir } from './tempdir.js';
import { rayFeatures, type RayVersion } from './version.js';

/** Every process of this node's Ray carries RAYSL_RAY_OF=<job>/<node> (a sweep finds them by it). */
export const RAY_MARK_ENV = 'RAYSL_RAY_OF';

/** How long `ray start` may take to print "started" and open its port (RAYSL_RAY_START_TIMEOUT_MS). */
const DEFAULT_START_TIMEOUT_MS = 180_000;

function startTimeoutMs(env: NodeJS.ProcessEnv): number {
  const v = Number(env['RAYSL_RAY_START_TIMEOUT_MS']);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_START_TIMEOUT_MS;
}

/** The node's context without its log (prepare says what to log instead). */
export type RayNodeInput = Omit<RuntimeNodeContext, 'log'>;

/** What prepare needs to know about the node beyond its context (read by the caller). */
export interface RayNodeFacts {
  /** process.env with the context's env over it. */
  env: NodeJS.ProcessEnv;
  /** Ray's CLI (rayBin) and the version it runs. */
  bin: string;
  version: RayVersion;
  interfaces: InterfaceTable;
  totalMemBytes: number;
  shmAvailBytes: number | undefined;
  /** The Python of the `ray` console script (rayInterpreter); undefined when not plain or not read. */
  python: string | undefined;
}

/** How a node's `ray start` runs: the boot script when `python` is set, else plain `ray start` (why says which). */
export interface RayBootPlan {
  python?: string;
  script: string;
  why: string;
}

export interface PreparedRayNode {
  nodeIp: string;
  ports: RayPorts;
  /** Ray's --temp-dir; `tmpDir` (TMPDIR of the daemons) and `hookDir` (raysl's Serve hook) lie in it. */
  tempDir: string;
  tmpDir: string;
  hookDir: string;
  /** Whether tempDir lies outside the scratch dir (then it is ours to remove; the agent removes the scratch dir). */
  outsideScratch: boolean;
  /** RAYSL_RAY_OF's value for this node. */
  mark: string;
  /** The boot script's plan (boot.ts): used when it names a Python. */
  boot: RayBootPlan;
  /** What runs: `file args...` (the boot script's Python or Ray's CLI), and `ray start`'s own argv. */
  command: { file: string; args: string[] };
  rayArgv: string[];
  env: NodeJS.ProcessEnv;
  /** Ports that must accept a connection on nodeIp, after "Ray runtime started.", for the node to be up. */
  mustAnswer: Array<[string, number]>;
  startTimeoutMs: number;
  /** Token authentication's note for the user (an old Ray, or auth off). */
  authNote?: string;
  /** Lines for the agent log, in order, before the process starts. */
  logLines: string[];
}

/**
 * The daemons must not inherit a RAY_ADDRESS pointing at some other cluster, nor raysl's own token:
 * every task and Jobs API job Ray runs inherits their environment, and Ray's secret reaches them
 * through its 0600 file (RAY_AUTH_TOKEN_PATH) only.
 */
function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  delete out['RAY_ADDRESS'];
  delete out[TOKEN_ENV];
  return out;
}

/**
 * Where Ray Train and Tune keep results and checkpoints: the job dir (shared by every node), not
 * Ray's default ~/ray_results (train/constants.py DEFAULT_STORAGE_PATH), which is per node and on
 * the user's home quota. Ray 2.60 reads no variable for it (RAY_STORAGE only in Tune's RunConfig, deprecated;
 * TUNE_RESULT_DIR and RAY_AIR_LOCAL_CACHE_DIR make tune.run raise), so the entrypoint passes it:
 * RunConfig(storage_path=os.environ["RAYSL_STORAGE_PATH"]).
 */
export function storageEnv(jobDir: string | undefined): Record<string, string> {
  return jobDir ? { RAYSL_STORAGE_PATH: join(jobDir, 'ray_results') } : {};
}

/** Whether `dir` lies outside `scratchDir` (the agent removes its scratch dir; anything outside is ours). */
export function outside(scratchDir: string, dir: string): boolean {
  return relative(scratchDir, dir).startsWith('..');
}

/**
 * How a node's `ray start` runs: through the boot script (boot.ts: the raylet registers without
 * waiting for its dashboard agent; a worker pays Python and `import ray` while the head starts and
 * joins without Ray's 2 s polls and without waiting for the head's raylet) where the installed Ray
 * is the one its reading of Ray's source holds for and its Python is known; else plain `ray start`.
 * RAYSL_RAY_BOOT=0 turns it off.
 */
function rayBootPlan(
  bin: string,
  env: NodeJS.ProcessEnv,
  version: RayVersion,
  tempDir: string,
  python: string | undefined,
): RayBootPlan {
  const script = join(tempDir, RAY_BOOT_DIR, RAY_BOOT_FILE);
  if (env['RAYSL_RAY_BOOT'] === '0') return { script, why: 'off (RAYSL_RAY_BOOT=0): plain `ray start`' };
  if (!rayFeatures(version).rayBoot)
    return { script, why: `not for Ray ${version.raw} (read in 2.60's source): plain \`ray start\`` };
  if (python === undefined)
    return { script, why: `${bin} is not a console script with a plain python #! line: plain \`ray start\`` };
  return { python, script, why: `${python} ${script}` };
}

/** The daemons' environment: the job's, Ray's cluster defaults and auth, the ports, Serve, storage, TMPDIR, the mark. */
function daemonsEnv(
  ctx: RayNodeInput,
  facts: RayNodeFacts,
  p: {
    ports: RayPorts;
    serve: ReturnType<typeof resolveRayPorts>['serve'];
    hookDir: string;
    tmpDir: string;
    mark: string;
    auth: ReturnType<typeof rayAuthEnv>;
  },
): NodeJS.ProcessEnv {
  const env = facts.env;
  const daemons: NodeJS.ProcessEnv = {
    ...withRayClusterDefaults(withRayAuth(daemonEnv(env), p.auth)),
    ...rayStartEnv({ role: ctx.role, ports: p.ports }),
    ...serveDaemonEnv(p.serve, p.hookDir, env),
    ...storageEnv(env['RAYSL_JOB_DIR']),
    TMPDIR: p.tmpDir,
    [RAY_MARK_ENV]: p.mark,
  };
  // A worker starts with its head, not after it: it retries the GCS once a second, 20 times by
  // default (RAY_NUM_REDIS_GET_RETRIES, node.py), which a slow head on a busy node can outlast.
  // It may wait as long as raysl waits for it.
  if (ctx.role === 'worker') daemons.RAY_NUM_REDIS_GET_RETRIES ??= String(Math.ceil(startTimeoutMs(env) / 1000));
  return daemons;
}

/**
 * The boot script's own variables (only when it runs): every node's raylet gets the agent's port; a
 * worker the head's GCS and when to start (RAYSL_RAY_BOOT_GATE, the job's own value wins: `gcs` once
 * the head's session name is there, `dashboard` once the head's dashboard is up, `registered` once
 * the head's raylet registered).
 */
function bootEnv(
  ctx: RayNodeInput,
  env: NodeJS.ProcessEnv,
  ports: RayPorts,
  headGcsPort: number,
  nodeIp: string,
): Record<string, string> {
  const agentPort = { RAYSL_RAY_AGENT_LISTEN_PORT: String(ports.dashboard_agent_listen) };
  if (ctx.role === 'head') return agentPort;
  return {
    ...agentPort,
    RAYSL_RAY_GCS_ADDRESS: `${ctx.headAddress}:${headGcsPort}`,
    RAYSL_RAY_BOOT_WAIT_S: String(Math.ceil(startTimeoutMs(env) / 1000)),
    RAYSL_RAY_BOOT_NICE: env['RAYSL_RAY_BOOT_NICE'] ?? '19',
    RAYSL_RAY_BOOT_NICE_UNTIL: [ports.dashboard_agent_listen, ports.runtime_env_agent]
      .map((p) => `${nodeIp}:${p}`)
      .join(','),
    // nodes with port bases of their own share one host (`run --local`): start after the head registered
    RAYSL_RAY_BOOT_GATE: env['RAYSL_RAY_BOOT_GATE'] || (ctx.headPortBase !== ctx.portBase ? 'registered' : 'gcs'),
  };
}

/** Everything about starting this node's Ray that can be known before starting it. Throws on a temp dir too long or an unknown interface. */
export function prepareRayNode(ctx: RayNodeInput, facts: RayNodeFacts): PreparedRayNode {
  const { env, bin, version } = facts;
  const nodeIp = resolveNodeIp(ctx.iface, ctx.address, facts.interfaces);
  const { ports, workerPorts, serve } = resolveRayPorts(ctx.portBase, ctx.layout);
  const headGcsPort = resolveRayPorts(ctx.headPortBase, ctx.layout).ports.gcs;
  const tempDir = chooseRayTempDir({ jobId: ctx.jobId, nodeName: ctx.nodeName, scratchDir: ctx.scratchDir });
  const mem = planRayMemory({
    grantedMb: ctx.resources.memoryMb,
    totalMemBytes: facts.totalMemBytes,
    shmAvailBytes: facts.shmAvailBytes,
  });
  const logLines: string[] = [];
  if (mem.cappedByShm)
    logLines.push(`ray: object store capped to ${Math.floor(mem.objectStoreBytes / 2 ** 20)} MiB by /dev/shm`);

  const rayArgv = rayStartArgv(
    {
      role: ctx.role,
      nodeIp,
      headAddress: ctx.headAddress,
      headGcsPort,
      ports,
      workerPorts,
      tempDir,
      numCpus: ctx.resources.cpus,
      numGpus: ctx.resources.gpus,
      memoryBytes: mem.memoryBytes,
      objectStoreBytes: mem.objectStoreBytes,
      ...(ctx.customResources !== undefined ? { customResources: ctx.customResources } : {}),
    },
    version,
  );
  logLines.push(`ray ${version.raw}: ${bin} ${rayArgv.join(' ')}`);
  // Python's multiprocessing in Ray's dashboard puts pymp-* dirs in TMPDIR and leaves them behind:
  // inside the temp dir they go with it (and so do the tasks' own temp files)
  const tmpDir = join(tempDir, 'tmp');
  const hookDir = join(tempDir, 'py');
  const mark = `${ctx.jobId}/${ctx.nodeName}`;
  const auth = rayAuthEnv(ctx.rayAuth, ctx.tokenFile, version);
  if (auth.note) logLines.push(`ray: ${auth.note}`);
  const daemons = daemonsEnv(ctx, facts, { ports, serve, hookDir, tmpDir, mark, auth });
  const boot = rayBootPlan(bin, env, version, tempDir, facts.python);
  logLines.push(`ray: ${ctx.role} boot: ${boot.why}`);
  if (boot.python) Object.assign(daemons, bootEnv(ctx, env, ports, headGcsPort, nodeIp));
  // "started" comes once GCS and raylet are up; `ray job submit` also needs the dashboard and the
  // head's dashboard agent (its job agent), which may still be starting: the head waits for them too.
  const mustAnswer: Array<[string, number]> =
    ctx.role === 'head'
      ? [
          ['GCS', ports.gcs],
          ['dashboard', ports.dashboard],
          ['dashboard agent', ports.dashboard_agent_listen],
        ]
      : [['node manager', ports.node_manager]];
  return {
    nodeIp,
    ports,
    tempDir,
    tmpDir,
    hookDir,
    outsideScratch: outside(ctx.scratchDir, tempDir),
    mark,
    boot,
    command: boot.python ? { file: boot.python, args: [boot.script, ...rayArgv] } : { file: bin, args: rayArgv },
    rayArgv,
    env: daemons,
    mustAnswer,
    startTimeoutMs: startTimeoutMs(env),
    ...(auth.note ? { authNote: auth.note } : {}),
    logLines,
  };
}
