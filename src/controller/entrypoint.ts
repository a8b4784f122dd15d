/**
 * The user's entrypoint on the head: interpreter + path + args untouched, in its own process group
 * (so teardown reaches everything it started), output streamed as it arrives to entrypoint.log
 * and to the controller's own stdout/stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerPlan, PlanEntrypoint } from '../core/types.js';
import { wrapperPrefix } from '../core/container.js';
import { resourcesForRole } from '../core/het-plan.js';
import type { Job } from './job.js';
import type { EntrypointAt } from './launcher.js';
import { exitOf, terminate, terminateGroup, type Escalation, type ExitInfo } from '../proc/terminate.js';
import { fileModeFor } from '../jobdir/modes.js';

export interface RunningEntrypoint {
  child: ChildProcess;
  pid: number | undefined;
  /** Resolves when the process exited and its output is fully written. */
  exited: Promise<ExitInfo>;
  stop(graceMs: number): Promise<ExitInfo>;
  /** Stops its group with these steps (a preemption: the user's signal, its grace, TERM, KILL). */
  stopWith(escalation: Escalation): Promise<ExitInfo>;
}

/** The entrypoint's argv, after `--container-cmd`'s wrapper if any. */
export function entrypointArgv(entrypoint: PlanEntrypoint, container?: ContainerPlan): string[] {
  return [...wrapperPrefix(container), ...entrypoint.interpreter, entrypoint.path, ...entrypoint.args];
}

/** Starts argv (the plan's entrypoint, or a `raysl exec` command) as the job's entrypoint runs. */
export function startEntrypoint(opts: {
  /** entrypointArgv(plan), or the launcher's step around it. */
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logPath: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** How messages name it: the job's entrypoint, or a `raysl exec` command. */
  what?: 'entrypoint' | 'command';
  /** A pipe to its stdin (`raysl exec` forwards the caller's); else /dev/null. */
  stdin?: boolean;
}): RunningEntrypoint {
  const [cmd, ...args] = opts.argv;
  const what = opts.what ?? 'entrypoint';
  if (cmd === undefined) throw new Error(`${what} argv is empty`);
  const log = createWriteStream(opts.logPath, { flags: 'a', mode: fileModeFor(opts.logPath) });
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let spawnError: { code: number } | undefined;
  child.on('error', (e: NodeJS.ErrnoException) => {
    const why = whyNotStarted(cmd, e, opts.env.PATH);
    spawnError = { code: why.code };
    const line = `raysl: cannot start ${what} ${cmd}: ${why.message}`;
    log.write(line + '\n');
    opts.stderr.write(line + '\n');
  });
  // a command that does not read its stdin (or exits first) closes the pipe: not an error of ours
  child.stdin?.on('error', () => {});
  child.stdout?.on('data', (b: Buffer) => {
    log.write(b);
    opts.stdout.write(b);
  });
  child.stderr?.on('data', (b: Buffer) => {
    log.write(b);
    opts.stderr.write(b);
  });
  const drained = new Promise<void>((r) => child.once('close', () => r()));
  const exited = (async () => {
    const info = await exitOf(child);
    // output still in the pipes after 'exit' belongs in the log too ('close' = pipes drained);
    // a grandchild holding the pipe must not hold us: that is what teardown's group kill is for
    if (!spawnError) await Promise.race([drained, new Promise((r) => setTimeout(r, 200).unref())]);
    await new Promise<void>((r) => log.end(() => r()));
    return spawnError ? { code: spawnError.code, signal: null } : info;
  })();
  return {
    child,
    pid: child.pid,
    exited,
    stop: async (graceMs) => {
      await terminateGroup(child, graceMs);
      return exited;
    },
    stopWith: async (escalation) => {
      await terminate({ group: child }, escalation);
      return exited;
    },
  };
}

/**
 * Why spawn failed, said as a shell would and with its exit code: 126 found but not executable,
 * 127 not found; a script whose #! interpreter is missing names the interpreter (spawn says ENOENT
 * of the script itself, which exists).
 */
function whyNotStarted(
  cmd: string,
  err: NodeJS.ErrnoException,
  path: string | undefined,
): { code: number; message: string } {
  if (err.code === 'EACCES')
    return {
      code: 126,
      message: `${cmd} is not executable (chmod +x it, or name its interpreter: e.g. python3 ${cmd})`,
    };
  if (err.code !== 'ENOENT') return { code: 126, message: err.message };
  const file = cmd.includes('/')
    ? cmd
    : (path ?? '')
        .split(':')
        .map((d) => join(d || '.', cmd))
        .find((p) => existsSync(p));
  if (file !== undefined && existsSync(file)) {
    const interpreter = shebangOf(file);
    if (interpreter !== undefined)
      return { code: 127, message: `its interpreter ${interpreter} (from the #! line of ${file}) was not found` };
  }
  return { code: 127, message: `${cmd} not found${cmd.includes('/') ? '' : ' on PATH'}` };
}

/** The interpreter a #! line names (its first word), if the file starts with one. */
function shebangOf(file: string): string | undefined {
  let head = '';
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(256);
      head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const m = /^#!\s*(\S+)/.exec(head);
  return m?.[1];
}

/** The entrypoint's exit as a process exit code: its code, or 128 + signal number. */
export function exitCodeOf(info: ExitInfo, signalNumber: (s: NodeJS.Signals) => number): number {
  if (info.code !== null) return info.code;
  if (info.signal !== null) return 128 + signalNumber(info.signal);
  return 70;
}

/**
 * The command as it runs on the head: `own` (already wrapped by --container-cmd), or the launcher's
 * step around it (a pyxis step under --container-image), in the head's het component and with the
 * head's GPUs.
 */
export function onHead(
  job: Pick<Job, 'plan' | 'edges' | 'head' | 'paths'>,
  cwd: string,
  path: string,
  own: string[],
): string[] {
  const { plan, edges, head, paths } = job;
  const component = plan.hetjob?.find((c) => c.role === 'head');
  const at: EntrypointAt = {
    head,
    cwd,
    entrypoint: path,
    jobDir: paths.dir,
    gpus: resourcesForRole(plan, 'head').gpus,
    ...(component ? { hetGroup: component.index } : {}),
  };
  return edges.launcher.entrypointStep?.(at, own) ?? own;
}
