/**
 * Starting one node's prepared Ray (prepare.ts) and waiting until it is up.
 *
 * Join detection: a node is up when (1) its `ray start` printed "Ray runtime started." and (2) the
 * ports this node must serve answer on the node's address (head: GCS, dashboard and dashboard agent,
 * so `ray job submit` works the moment the entrypoint starts; worker: node manager). A
 * worker prints "started" only after its raylet registered with the GCS it was given, and every job
 * has its own GCS port, so another job's nodes cannot join ours and ours cannot join theirs. Nodes
 * that die later are the agent's business through `exited` (expected: false).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ClusterFormError } from '../../core/errors.js';
import type { RuntimeProcess } from '../types.js';
import { RAY_BOOT_PY } from './boot.js';
import { foldRayEvent, initialRayState, parseRayLine, type RayStartState } from './output.js';
import type { PreparedRayNode } from './prepare.js';
import { spawnGroup, type GroupExit, type SpawnedGroup } from './process.js';
import { waitForPort } from './ready.js';
import { SERVE_HOOK_MODULE, SERVE_HOOK_SOURCE } from './serve.js';
import { stopRayNode, type RayNodeLogs } from './stop.js';
import { drainRayNode } from './drain.js';

/** What launching a node needs of its context. */
export interface RayNodeSite extends RayNodeLogs {
  nodeName: string;
  role: 'head' | 'worker';
}

/** The node's files: temp dir, TMPDIR, raysl's Serve hook, and a worker's boot script. */
function writeRayNodeFiles(node: PreparedRayNode): void {
  mkdirSync(node.tempDir, { recursive: true, mode: 0o700 });
  mkdirSync(node.tmpDir, { recursive: true, mode: 0o700 });
  // Ray Serve's controller imports raysl's hook from <temp dir>/py (serve.ts): Serve on the job's ports
  mkdirSync(node.hookDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(node.hookDir, `${SERVE_HOOK_MODULE}.py`), SERVE_HOOK_SOURCE, { mode: 0o600 });
  if (node.boot.python) {
    mkdirSync(dirname(node.boot.script), { mode: 0o700 });
    writeFileSync(node.boot.script, RAY_BOOT_PY, { mode: 0o600 });
  }
}

/** The group's output, read as Ray's events: when it said "started", and what it said about its end. */
interface RayWatch {
  started: Promise<void>;
  state: () => RayStartState;
}

function watchRayOutput(group: SpawnedGroup, log: (line: string) => void): RayWatch {
  let state = initialRayState();
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  group.onLine((line) => {
    log(`ray: ${line}`);
    const ev = parseRayLine(line);
    if (!ev) return;
    state = foldRayEvent(state, ev);
    if (state.started) markStarted();
  });
  return { started, state: () => state };
}

/** What Ray itself said about its end: "Some Ray subprocesses exited unexpectedly: raylet [exit code=-9]". */
function rayCause(state: RayStartState): string | undefined {
  return state.died.length > 0
    ? state.died.map((x) => `${x.process} [exit code=${x.exitCode}]`).join(', ')
    : state.errors[0];
}

function describeExit(nodeName: string, state: RayStartState, e: GroupExit): string {
  const why = state.errors[0] ?? rayCause(state) ?? state.exception;
  return `\`ray start\` on ${nodeName} exited (${e.signal ?? `code ${e.code}`}) before the node was up${why ? `: ${why}` : ''}`;
}

/** Resolves once `ray start` said "started" and the node's ports answer; rejects with what went wrong. */
async function waitRayNodeUp(
  node: PreparedRayNode,
  group: SpawnedGroup,
  watch: RayWatch,
  nodeName: string,
  now: () => number,
): Promise<void> {
  const deadline = now() + node.startTimeoutMs;
  const first = await Promise.race([
    watch.started.then(() => 'started' as const),
    group.exit.then((e) => e),
    new Promise<'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), Math.max(0, deadline - now()));
      void group.exit.finally(() => clearTimeout(t));
      void watch.started.finally(() => clearTimeout(t));
    }),
  ]);
  if (first === 'timeout') {
    throw new ClusterFormError(
      `\`ray start\` on ${nodeName} did not print "Ray runtime started." within ${node.startTimeoutMs} ms`,
      {
        hint: "read the agent log for Ray's output; on a slow shared filesystem raise RAYSL_RAY_START_TIMEOUT_MS",
        details: { tail: group.tail() },
      },
    );
  }
  if (first !== 'started') {
    throw new ClusterFormError(describeExit(nodeName, watch.state(), first), {
      hint: "the lines above in the agent log are Ray's own output; a port or socket-path error names its cause",
      details: { tail: group.tail() },
    });
  }
  for (const [what, port] of node.mustAnswer) {
    const r = await waitForPort(node.nodeIp, port, { deadline, abort: group.exit });
    if (r === 'open') continue;
    if (r === 'aborted') {
      throw new ClusterFormError(describeExit(nodeName, watch.state(), await group.exit), {
        hint: "see Ray's output in the agent log",
        details: { tail: group.tail() },
      });
    }
    throw new ClusterFormError(
      `Ray on ${nodeName} said it started but its ${what} (${node.nodeIp}:${port}) does not accept connections`,
      {
        hint: 'another process may hold the port, or a firewall blocks it; `raysl check-ports` explains overlaps',
      },
    );
  }
}

/** Writes the node's files, starts its `ray start --block`, and hands back the running node. */
export function launchRayNode(node: PreparedRayNode, site: RayNodeSite, now: () => number): RuntimeProcess {
  for (const line of node.logLines) site.log(line);
  writeRayNodeFiles(node);
  const group = spawnGroup(node.command.file, node.command.args, node.env, node.tempDir);
  // The group id is what teardown signals; logged so an operator can find this job's Ray.
  site.log(`ray: process group ${group.pid}`);
  const watch = watchRayOutput(group, site.log);
  let stopRequested = false;
  const exited = group.exit.then((e) => {
    const cause = rayCause(watch.state());
    return { ...e, expected: stopRequested, ...(cause ? { detail: `Ray reported ${cause}` } : {}) };
  });
  const ready = waitRayNodeUp(node, group, watch, site.nodeName, now);
  // A rejected ready that nobody awaits (e.g. stop() during start) must not crash the agent.
  ready.catch(() => undefined);
  return {
    address: node.nodeIp,
    // the head speaks for the cluster; every worker would only repeat it
    ...(node.authNote && site.role === 'head' ? { notes: [node.authNote] } : {}),
    ready,
    exited,
    async stop(graceMs: number): Promise<void> {
      stopRequested = true;
      await stopRayNode(node, group, graceMs, site, now);
    },
    // shrink: once drained, Ray's raylet exits when the node is idle; that exit is the node leaving
    drain: (deadlineSec, reason) => drainRayNode(node, deadlineSec, reason),
  };
}
