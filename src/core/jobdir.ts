/**
 * Where a job's files live: `<plan.jobDir>/<jobId>/`. Pure path arithmetic (POSIX separators), so
 * every reader (`status`, `logs`, `cancel`, the controller) agrees on one layout.
 *
 *   plan.json            the Plan the controller ran (versioned, see core/types.ts)
 *   status.json          JobStatus (core/status.ts), rewritten atomically (tmp + rename)
 *   controller.log       the controller's timestamped progress lines
 *   agent-<node>.log     one per node: the agent's own lines and its runtime's output
 *   agent-<node>.ending.json  how and when that agent ended (core/agent-ending.ts)
 *   entrypoint.log       the entrypoint's stdout and stderr, interleaved as they arrived
 *   token                the job's secret for the control server (mode 0600)
 *   ports.json           the job's port block and control address ({ base, size, controller })
 *   runtime-logs/<node>/ the runtime's own logs, copied from node-local disk at teardown (bounded)
 */
import { AGENT_ENDING_SUFFIX } from './agent-ending.js';
import { UsageError } from './errors.js';

export interface JobPaths {
  dir: string;
  plan: string;
  status: string;
  controllerLog: string;
  entrypointLog: string;
  token: string;
  ports: string;
  /** cancel-request.json: `raysl cancel`/`down` asked for the stop ({at, graceSec}); a reader's fact should the controller be forced. */
  cancelRequest: string;
  agentLog: (node: string) => string;
  /** agent-<node>.ending.json (core/agent-ending.ts). */
  agentEnding: (node: string) => string;
  /** Where a node's runtime logs are kept at teardown (Ray's session logs). */
  runtimeLogs: (node: string) => string;
}

// Job ids and node names become file names: refuse anything that could escape the job dir.
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

export function assertSafeName(kind: string, name: string): void {
  if (!SAFE_NAME.test(name) || name === '.' || name === '..') {
    throw new UsageError(`${kind} ${JSON.stringify(name)} cannot be used as a file name`, {
      hint: `use letters, digits, '.', '_' or '-' in the ${kind}`,
    });
  }
}

/** `local-<epoch ms>-<pid>`: the id `raysl run --local` gives its job. */
const LOCAL_JOB_ID = /^local-\d+-\d+$/;

export function isLocalJobId(id: string): boolean {
  return LOCAL_JOB_ID.test(id);
}

export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  return joined.replace(/\/{2,}/g, '/');
}

function jobDirOf(jobDirRoot: string, jobId: string): string {
  assertSafeName('job id', jobId);
  const root = jobDirRoot.length > 1 ? jobDirRoot.replace(/\/+$/, '') : jobDirRoot;
  return joinPath(root, jobId);
}

export function jobPaths(jobDirRoot: string, jobId: string): JobPaths {
  const dir = jobDirOf(jobDirRoot, jobId);
  return {
    dir,
    plan: joinPath(dir, 'plan.json'),
    status: joinPath(dir, 'status.json'),
    controllerLog: joinPath(dir, 'controller.log'),
    entrypointLog: joinPath(dir, 'entrypoint.log'),
    token: joinPath(dir, 'token'),
    ports: joinPath(dir, 'ports.json'),
    cancelRequest: joinPath(dir, 'cancel-request.json'),
    agentLog: (node: string) => {
      assertSafeName('node name', node);
      return joinPath(dir, `agent-${node}.log`);
    },
    agentEnding: (node: string) => {
      assertSafeName('node name', node);
      return joinPath(dir, `agent-${node}${AGENT_ENDING_SUFFIX}`);
    },
    runtimeLogs: (node: string) => {
      assertSafeName('node name', node);
      return joinPath(dir, 'runtime-logs', node);
    },
  };
}

/** ports.json: what other local jobs read to keep their blocks disjoint from ours. */
export interface PortsRecord {
  version: 1;
  jobId: string;
  base: number;
  size: number;
  /** host:port of the control server. */
  controller: string;
  /** Controller pid: a record whose pid is gone is stale (local launcher only). */
  pid: number;
  /** That pid's start time (clock ticks since boot): a reused pid is not the controller. */
  startTicks?: number;
}

/**
 * Modes of what raysl creates under a job dir root. Private by default: a job's files hold its
 * --env values (plan.json, the batch script) and whatever the entrypoint prints, on a filesystem
 * every user of the cluster shares, so the umask (022 almost everywhere) is not asked. A root with
 * the set-group-ID bit (`chgrp team raysl-jobs && chmod 2750 raysl-jobs`) is the Unix way of saying
 * "this directory belongs to a group": then the group may read (never write), no one else.
 */
export interface JobModes {
  dir: number;
  file: number;
}

export const PRIVATE_MODES: JobModes = { dir: 0o700, file: 0o600 };
export const GROUP_MODES: JobModes = { dir: 0o2750, file: 0o640 };

/** The modes for a job dir whose root has this st_mode. */
export function modesForRoot(rootMode: number): JobModes {
  return (rootMode & 0o2000) !== 0 ? GROUP_MODES : PRIVATE_MODES;
}

/** The mode of a file written into a directory with this st_mode (made by modesForRoot). */
export function fileModeForDir(dirMode: number): number {
  return (dirMode & 0o2040) === 0o2040 ? GROUP_MODES.file : PRIVATE_MODES.file;
}
