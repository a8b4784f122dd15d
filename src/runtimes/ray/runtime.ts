/**
 * The `ray` runtime adapter: Ray's own daemons under the agent, one `ray start --block` per node.
 *
 * Join detection: a node is up when (1) its `ray start` printed "Ray runtime started." and (2) the
 * ports this node must serve answer on the node's address (head: GCS, dashboard and dashboard agent,
 * so `ray job submit` works the moment the entrypoint starts; worker: node manager). A
 * worker prints "started" only after its raylet registered with the GCS it was given, and every job
 * has its own GCS port, so another job's nodes cannot join ours and ours cannot join theirs. Nodes
 * that die later are the agent's business through `exited` (expected: false).
 */
import { mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { keepLogs } from '../keep-logs.js';
import { networkInterfaces, totalmem } from 'node:os';
import { ClusterFormError } from '../../core/errors.js';
import type { RuntimeAdapter, RuntimeNodeContext, RuntimeProcess } from '../types.js';
import { rayStartArgv, rayStartEnv } from './argv.js';
import { killMarked } from '../../proc/sweep.js';
import { locateRay, rayBin, rayInterpreter, probeRayVersion } from './bin.js';
import { resolveNodeIp, type InterfaceTable } from '../iface.js';
import { planRayMemory } from './memory.js';
import { foldRayEvent, initialRayState, parseRayLine } from './output.js';
import { resolveRayPorts } from './ports.js';
import { spawnGroup, stopGroup } from './process.js';
import { waitForPort } from './ready.js';
import { chooseRayTempDir } from './tempdir.js';
import { assertSupportedRayVersion, rayFeatures, type RayVersion } from './version.js';
import { RAY_BOOT_DIR, RAY_BOOT_FILE, RAY_BOOT_PY } from './boot.js';
import { withRayClusterDefaults } from './cluster-env.js';
import { rayAuthEnv, withRayAuth } from './auth.js';
import { SERVE_HOOK_MODULE, SERVE_HOOK_SOURCE, serveDaemonEnv, servePortsEnv } from './serve.js';
import { TOKEN_ENV } from '../../core/env-names.js';
import { rayDemandReader } from './demand.js';

/** Every process of this node's Ray carries RAYSL_RAY_OF=<job>/<node> (a sweep finds them by it). */
export const RAY_MARK_ENV = 'RAYSL_RAY_OF';

/** Edges injected for tests; defaults read the real node. */
export interface RayDeps {
  interfaces: () => InterfaceTable;
  totalMemBytes: () => number;
  shmAvailBytes: () => number | undefined;
  probeVersion: (bin: string, env: NodeJS.ProcessEnv) => Promise<RayVersion>;
  now: () => number;
}

function readShmAvail(): number | undefined {
  try {
    const s = statfsSync('/dev/shm');
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

const defaultDeps: RayDeps = {
  interfaces: () => networkInterfaces(),
  totalMemBytes: () => totalmem(),
  shmAvailBytes: readShmAvail,
  probeVersion: probeRayVersion,
  now: () => Date.now(),
};

/** How long `ray start` may take to print "started" and open its port (RAYSL_RAY_START_TIMEOUT_MS). */
const DEFAULT_START_TIMEOUT_MS = 180_000;

function startTimeoutMs(env: NodeJS.ProcessEnv): number {
  const v = Number(env['RAYSL_RAY_START_TIMEOUT_MS']);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_START_TIMEOUT_MS;
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
function storageEnv(jobDir: string | undefined): Record<string, string> {
  return jobDir ? { RAYSL_STORAGE_PATH: join(jobDir, 'ray_results') } : {};
}

/**
 * How a worker's `ray start` runs: through the boot script (ray-boot.ts: Python and `import ray`
 * paid while the head starts, joined without Ray's 2 s polls and without waiting for the head's
 * raylet) where the installed Ray is the one its reading of Ray's source holds for and its Python
 * is known; else plain `ray start`. RAYSL_RAY_BOOT=0 turns it off.
 */
function rayBootCommand(bin: string, env: NodeJS.ProcessEnv, version: RayVersion, tempDir: string): { python?: string; script: string; why: string } {
  const script = join(tempDir, RAY_BOOT_DIR, RAY_BOOT_FILE);
  if (env['RAYSL_RAY_BOOT'] === '0') return { script, why: 'off (RAYSL_RAY_BOOT=0): plain `ray start`' };
  if (!rayFeatures(version).rayBoot) return { script, why: `not for Ray ${version.raw} (read in 2.60's source): plain \`ray start\`` };
  const python = rayInterpreter(bin, env);
  if (python === undefined) return { script, why: `${bin} is not a console script with a plain python #! line: plain \`ray start\`` };
  mkdirSync(join(tempDir, RAY_BOOT_DIR), { mode: 0o700 });
  writeFileSync(script, RAY_BOOT_PY, { mode: 0o600 });
  return { python, script, why: `${python} ${script}` };
}

/** Ray Serve's controller imports raysl's hook from <temp dir>/py (ray-serve.ts): Serve on the job's ports. */
function writeServeHook(tempDir: string): string {
  const hookDir = join(tempDir, 'py');
  mkdirSync(hookDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(hookDir, `${SERVE_HOOK_MODULE}.py`), SERVE_HOOK_SOURCE, { mode: 0o600 });
  return hookDir;
}

/** Whether `dir` lies outside `scratchDir` (the agent removes its scratch dir; anything outside is ours). */
function outside(scratchDir: string, dir: string): boolean {
  return relative(scratchDir, dir).startsWith('..');
}

/** Ray's session logs (<temp-dir>/session_*\/logs) into the job dir before the temp dir goes. */
function keepSessionLogs(tempDir: string, ctx: RuntimeNodeContext): void {
  let sessions: string[] = [];
  try {
    sessions = readdirSync(tempDir).filter((n) => n.startsWith('session_') && n !== 'session_latest');
  } catch {
    return; // Ray never got as far as a session
  }
  try {
    const kept = keepLogs(tempDir, sessions.map((s) => join(tempDir, s, 'logs')), ctx.runtimeLogDir);
    ctx.log(`ray: kept ${kept.files} session log file(s), ${Math.round(kept.bytes / 1024)} KiB, in ${ctx.runtimeLogDir}${kept.cut.length > 0 ? ` (${kept.cut.length} cut: see TRUNCATED.txt)` : ''}`);
  } catch (err) {
    ctx.log(`ray: could not keep the session logs in ${ctx.runtimeLogDir}: ${(err as Error).message}`);
  }
}

export function createRayRuntime(deps: Partial<RayDeps> = {}): RuntimeAdapter {
  const d: RayDeps = { ...defaultDeps, ...deps };

  async function start(ctx: RuntimeNodeContext): Promise<RuntimeProcess> {
    const env = { ...process.env, ...ctx.env };
    const bin = rayBin(env);
    const version = await d.probeVersion(bin, env);
    assertSupportedRayVersion(version);

    const iface = ctx.iface;
    const nodeIp = resolveNodeIp(iface, ctx.address, d.interfaces());
    const { ports, workerPorts, serve } = resolveRayPorts(ctx.portBase, ctx.layout);
    const headGcsPort = resolveRayPorts(ctx.headPortBase, ctx.layout).ports.gcs;
    const tempDir = chooseRayTempDir({ jobId: ctx.jobId, nodeName: ctx.nodeName, scratchDir: ctx.scratchDir });
    const mem = planRayMemory({
      grantedMb: ctx.resources.memoryMb,
      totalMemBytes: d.totalMemBytes(),
      shmAvailBytes: d.shmAvailBytes(),
    });
    if (mem.cappedByShm) ctx.log(`ray: object store capped to ${Math.floor(mem.objectStoreBytes / 2 ** 20)} MiB by /dev/shm`);

    const argv = rayStartArgv(
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
    ctx.log(`ray ${version.raw}: ${bin} ${argv.join(' ')}`);
    mkdirSync(tempDir, { recursive: true, mode: 0o700 });
    // Python's multiprocessing in Ray's dashboard puts pymp-* dirs in TMPDIR and leaves them behind:
    // inside the temp dir they go with it (and so do the tasks' own temp files)
    const tmp = join(tempDir, 'tmp');
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    const mark = `${ctx.jobId}/${ctx.nodeName}`;
    const hookDir = writeServeHook(tempDir);

    const auth = rayAuthEnv(ctx.rayAuth, ctx.tokenFile, version);
    if (auth.note) ctx.log(`ray: ${auth.note}`);
    const daemons: NodeJS.ProcessEnv = {
      ...withRayClusterDefaults(withRayAuth(daemonEnv(env), auth)),
      ...rayStartEnv({ role: ctx.role, ports }),
      ...serveDaemonEnv(serve, hookDir, env),
      ...storageEnv(env['RAYSL_JOB_DIR']),
      TMPDIR: tmp,
      [RAY_MARK_ENV]: mark,
    };
    // A worker starts with its head, not after it: it retries the GCS once a second, 20 times by
    // default (RAY_NUM_REDIS_GET_RETRIES, node.py), which a slow head on a busy node can outlast.
    // It may wait as long as raysl waits for it.
    if (ctx.role === 'worker') daemons.RAY_NUM_REDIS_GET_RETRIES ??= String(Math.ceil(startTimeoutMs(env) / 1000));
    const boot = ctx.role === 'worker' ? rayBootCommand(bin, env, version, tempDir) : undefined;
    if (boot) ctx.log(`ray: worker boot: ${boot.why}`);
    if (boot?.python) {
      daemons.RAYSL_RAY_GCS_ADDRESS = `${ctx.headAddress}:${headGcsPort}`;
      daemons.RAYSL_RAY_BOOT_WAIT_S = String(Math.ceil(startTimeoutMs(env) / 1000));
      // nodes with port bases of their own share one host (`run --local`): start after the head registered
      daemons.RAYSL_RAY_BOOT_GATE = ctx.headPortBase !== ctx.portBase ? 'registered' : 'dashboard';
    }
    const group = boot?.python ? spawnGroup(boot.python, [boot.script, ...argv], daemons, tempDir) : spawnGroup(bin, argv, daemons, tempDir);
    // The group id is what teardown signals; logged so an operator can find this job's Ray.
    ctx.log(`ray: process group ${group.pid}`);
    let state = initialRayState();
    let stopRequested = false;
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    group.onLine((line) => {
      ctx.log(`ray: ${line}`);
      const ev = parseRayLine(line);
      if (!ev) return;
      state = foldRayEvent(state, ev);
      if (state.started) markStarted();
    });

    // what Ray itself said about its end: "Some Ray subprocesses exited unexpectedly: raylet [exit code=-9]"
    const rayCause = (): string | undefined =>
      state.died.length > 0 ? state.died.map((x) => `${x.process} [exit code=${x.exitCode}]`).join(', ') : state.errors[0];
    const exited = group.exit.then((e) => {
      const cause = rayCause();
      return { ...e, expected: stopRequested, ...(cause ? { detail: `Ray reported ${cause}` } : {}) };
    });
    const describeExit = (e: { code: number | null; signal: NodeJS.Signals | null }): string => {
      const why = state.errors[0] ?? rayCause();
      return `\`ray start\` on ${ctx.nodeName} exited (${e.signal ?? `code ${e.code}`}) before the node was up${why ? `: ${why}` : ''}`;
    };

    const ready = (async (): Promise<void> => {
      const deadline = d.now() + startTimeoutMs(env);
      const first = await Promise.race([
        started.then(() => 'started' as const),
        group.exit.then((e) => e),
        new Promise<'timeout'>((resolve) => {
          const t = setTimeout(() => resolve('timeout'), Math.max(0, deadline - d.now()));
          void group.exit.finally(() => clearTimeout(t));
          void started.finally(() => clearTimeout(t));
        }),
      ]);
      if (first === 'timeout') {
        throw new ClusterFormError(`\`ray start\` on ${ctx.nodeName} did not print "Ray runtime started." within ${startTimeoutMs(env)} ms`, {
          hint: 'read the agent log for Ray\'s output; on a slow shared filesystem raise RAYSL_RAY_START_TIMEOUT_MS',
          details: { tail: group.tail() },
        });
      }
      if (first !== 'started') {
        throw new ClusterFormError(describeExit(first), {
          hint: 'the lines above in the agent log are Ray\'s own output; a port or socket-path error names its cause',
          details: { tail: group.tail() },
        });
      }
      // "started" comes once GCS and raylet are up; `ray job submit` also needs the dashboard and the
      // head's dashboard agent (its job agent), which may still be starting: the head waits for them too.
      const needed: Array<[string, number]> =
        ctx.role === 'head'
          ? [['GCS', ports.gcs], ['dashboard', ports.dashboard], ['dashboard agent', ports.dashboard_agent_listen]]
          : [['node manager', ports.node_manager]];
      for (const [what, port] of needed) {
        const r = await waitForPort(nodeIp, port, { deadline, abort: group.exit });
        if (r === 'open') continue;
        if (r === 'aborted') {
          throw new ClusterFormError(describeExit(await group.exit), { hint: 'see Ray\'s output in the agent log', details: { tail: group.tail() } });
        }
        throw new ClusterFormError(`Ray on ${ctx.nodeName} said it started but its ${what} (${nodeIp}:${port}) does not accept connections`, {
          hint: 'another process may hold the port, or a firewall blocks it; `raysl check-ports` explains overlaps',
        });
      }
    })();
    // A rejected ready that nobody awaits (e.g. stop() during start) must not crash the agent.
    ready.catch(() => undefined);

    // The agent removes its scratch dir; a fallback temp dir outside it (short /tmp path) is ours to remove.
    const outsideScratch = outside(ctx.scratchDir, tempDir);
    return {
      address: nodeIp,
      // the head speaks for the cluster; every worker would only repeat it
      ...(auth.note && ctx.role === 'head' ? { notes: [auth.note] } : {}),
      ready,
      exited,
      async stop(graceMs: number): Promise<void> {
        stopRequested = true;
        const t = d.now();
        const how = await stopGroup(group, graceMs);
        // Ray's workers run in process groups of their own: whatever carries this node's mark, or
        // works in its temp dir, goes too
        const strays = await killMarked(RAY_MARK_ENV, mark, graceMs, [tempDir]);
        ctx.log(`ray: stopped in ${d.now() - t} ms (${how}${strays > 0 ? `; ${strays} process(es) outside the group KILLed, found by ${RAY_MARK_ENV} or their working dir` : ''})`);
        keepSessionLogs(tempDir, ctx);
        if (outsideScratch) rmSync(tempDir, { recursive: true, force: true });
      },
    };
  }

  return {
    name: 'ray',
    bindsWildcard: true,
    start,
    locate: (env) => locateRay({ ...process.env, ...env }),
    dirsOutsideScratch(node) {
      try {
        const dir = chooseRayTempDir(node);
        return outside(node.scratchDir, dir) ? [dir] : [];
      } catch {
        return []; // no temp dir fits: Ray never started on that node, so it made none
      }
    },
    demandReader: rayDemandReader,
    entrypointEnv(head) {
      const { ports, serve } = resolveRayPorts(head.portBase, head.layout);
      const auth = rayAuthEnv(head.rayAuth, head.tokenFile);
      return {
        RAY_ADDRESS: `${head.address}:${ports.gcs}`,
        // `ray job submit` and the Jobs SDK read this before RAY_ADDRESS
        RAY_API_SERVER_ADDRESS: `http://${head.address}:${ports.dashboard}`,
        ...servePortsEnv(serve),
        ...storageEnv(head.jobDir),
        ...auth.env,
      };
    },
  };
}

export const rayRuntime: RuntimeAdapter = createRayRuntime();
