/**
 * Runs one command for the builtin runtime on this node: its own process group (a kill stops all
 * it started), output streamed as it is produced (utf8 kept whole across chunks), exit code and
 * signal reported once both pipes are drained.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { ExecRequest, ToController } from '../../protocol/builtin.js';
import { exitOf, terminateGroup } from '../../proc/terminate.js';

export interface RunningCommand {
  done: Promise<void>;
  /** TERM its process group, KILL after the grace. */
  stop(graceMs: number): Promise<void>;
}

export function runCommand(
  req: ExecRequest,
  baseEnv: NodeJS.ProcessEnv,
  defaultCwd: string,
  report: (m: ToController) => void,
): RunningCommand {
  const [cmd, ...args] = req.argv as [string, ...string[]];
  const child = spawn(cmd, args, {
    cwd: req.cwd ?? defaultCwd,
    env: { ...baseEnv, ...req.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));
  if (child.pid !== undefined) report({ k: 'started', id: req.id, pid: child.pid });
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = new StringDecoder('utf8');
    child[stream]?.on('data', (b: Buffer) => {
      const data = text.write(b);
      if (data !== '') report({ k: 'output', id: req.id, stream, data });
    });
    child[stream]?.on('end', () => {
      const rest = text.end();
      if (rest !== '') report({ k: 'output', id: req.id, stream, data: rest });
    });
  }
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  if (req.timeoutMs !== undefined && req.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      void terminateGroup(child, 0);
    }, req.timeoutMs);
    timer.unref();
  }
  const done = (async (): Promise<void> => {
    const info = await exitOf(child);
    if (timer) clearTimeout(timer);
    // the pipes may still hold data after 'exit'; 'close' means both are drained
    if (child.stdout && !child.stdout.readableEnded) await new Promise((r) => child.once('close', r));
    if (spawnError)
      report({
        k: 'exited',
        id: req.id,
        exitCode: 127,
        signal: null,
        error: `cannot run ${cmd}: ${spawnError.message}`,
      });
    else
      report({ k: 'exited', id: req.id, exitCode: info.code, signal: info.signal, ...(timedOut ? { timedOut } : {}) });
  })();
  return { done, stop: async (graceMs) => void (await terminateGroup(child, graceMs)) };
}
