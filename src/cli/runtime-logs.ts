/**
 * `raysl logs <id> --runtime [file]`: the runtime logs a job kept in `<job dir>/runtime-logs/<node>/`
 * (copied from node-local disk at teardown, bounded: see src/runtimes/keep-logs.ts). Collects the
 * listing as data; logs.ts prints it or one file.
 */
import { readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { JobPaths } from '../core/jobdir.js';
import { regularFiles } from '../runtimes/keep-logs.js';

export interface KeptFile {
  node: string;
  /** Path under the node's runtime-logs dir, e.g. session_2026-.../logs/raylet.out. */
  file: string;
  bytes: number;
}

/** Every kept file of `nodes`, sorted by node, then path. */
export function keptRuntimeLogs(paths: JobPaths, nodes: readonly string[]): KeptFile[] {
  return nodes.flatMap((node) => {
    const dir = paths.runtimeLogs(node);
    return regularFiles(dir)
      .map((f) => ({ node, file: relative(dir, f.path), bytes: f.size }))
      .sort((a, b) => a.file.localeCompare(b.file));
  });
}

/** The nodes that kept runtime logs (the dir's own listing: also for a job whose status.json is gone). */
export function nodesWithRuntimeLogs(paths: JobPaths): string[] {
  try {
    return readdirSync(join(paths.dir, 'runtime-logs')).sort();
  } catch {
    return [];
  }
}

/** One kept file of a node, named by its path or, when that is unique, its base name (raylet.out). */
export function pickKeptFile(kept: readonly KeptFile[], node: string, name: string, jobId: string): string {
  const mine = kept.filter((k) => k.node === node);
  const exact = mine.find((k) => k.file === name);
  if (exact) return exact.file;
  const byBase = mine.filter((k) => basename(k.file) === name);
  if (byBase.length === 1) return (byBase[0] as KeptFile).file;
  if (byBase.length > 1) {
    throw new UsageError(`job ${jobId}, node ${node}: ${byBase.length} kept runtime logs are named ${name}`, {
      hint: `name one by its path: ${byBase.map((k) => k.file).join(', ')}`,
    });
  }
  throw new UsageError(`job ${jobId}, node ${node}: no kept runtime log ${JSON.stringify(name)}`, {
    hint: mine.length > 0 ? `list them with \`raysl logs ${jobId} --node ${node} --runtime\`` : noneHint(jobId, node),
  });
}

export function noneHint(jobId: string, node: string | undefined): string {
  const agent = `raysl logs ${jobId} --node ${node ?? '<node>'}`;
  return `runtime logs are copied when the job tears down (Ray's session logs; the builtin runtime has none of its own: its output is in \`${agent}\`)`;
}

export function formatKept(kept: readonly KeptFile[]): string {
  const width = Math.max(...kept.map((k) => k.node.length));
  return kept.map((k) => `${k.node.padEnd(width)}  ${String(k.bytes).padStart(9)}  ${k.file}`).join('\n') + '\n';
}
