/**
 * Runs one command for the builtin runtime on this node: own process group (so a stop kills all it
 * started), output captured up to a cap, exit code and signal returned.
 */
import { spawn } from 'node:child_process';
import type { RunRequest, RunResult } from '../../controller/protocol.js';
import { exitOf, terminateGroup } from '../../proc/terminate.js';

/** Output beyond this is dropped (with a marker): a result must fit in one protocol line. */
const MAX_OUTPUT = 8 * 1024 * 1024;

export interface RunningCommand {
  result: Promise<RunResult>;
  /** TERM its process group, KILL after the grace. */
  stop(graceMs: number): Promise<void>;
}

function collector(): { push: (b: Buffer) => void; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  let dropped = 0;
  return {
    push: (b) => {
      if (size + b.length <= MAX_OUTPUT) {
        chunks.push(b);
        size += b.length;
      } else dropped += b.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8') + (dropped > 0 ? `\n[raysl: ${dropped} bytes of output dropped]\n` : ''),
  };
}

export function runCommand(req: RunRequest, baseEnv: NodeJS.ProcessEnv, defaultCwd: string): RunningCommand {
  const [cmd, ...args] = req.argv;
  if (cmd === undefined) {
    return { result: Promise.resolve({ stdout: '', stderr: 'raysl: empty argv\n', exitCode: 127, signal: null }), stop: async () => {} };
  }
  const child = spawn(cmd, args, {
    cwd: req.cwd ?? defaultCwd,
    env: { ...baseEnv, ...(req.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const out = collector();
  const err = collector();
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));
  child.stdout?.on('data', out.push);
  child.stderr?.on('data', err.push);
  let timer: NodeJS.Timeout | undefined;
  if (req.timeoutMs !== undefined && req.timeoutMs > 0) {
    timer = setTimeout(() => void terminateGroup(child, 0), req.timeoutMs);
    timer.unref();
  }
  const result = (async (): Promise<RunResult> => {
    const info = await exitOf(child);
    if (timer) clearTimeout(timer);
    // the pipes may still hold data after 'exit'; 'close' means both are drained
    if (child.stdout && !child.stdout.readableEnded) await new Promise((r) => child.once('close', r));
    if (spawnError) return { stdout: '', stderr: `raysl: cannot run ${cmd}: ${spawnError.message}\n`, exitCode: 127, signal: null };
    return { stdout: out.text(), stderr: err.text(), exitCode: info.code, signal: info.signal };
  })();
  return {
    result,
    stop: async (graceMs) => {
      await terminateGroup(child, graceMs);
    },
  };
}
