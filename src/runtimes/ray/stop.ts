/**
 * Ending one node's Ray: its `ray start` process group (process.ts stopGroup), then whatever
 * carries the node's mark or works in its temp dir (Ray's workers run in process groups of their
 * own), then its session logs into the job dir, then its temp dir when it lies outside the scratch
 * dir (the agent removes the scratch dir).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { restoreCpuShare } from '../../proc/autogroup.js';
import { killMarked } from '../../proc/sweep.js';
import { keepLogs } from '../keep-logs.js';
import { RAY_MARK_ENV, type PreparedRayNode } from './prepare.js';
import { stopGroup, type SpawnedGroup } from './process.js';

/** What stopping a node needs of its context. */
export interface RayNodeLogs {
  runtimeLogDir: string;
  log: (line: string) => void;
}

/** Ray's session logs (<temp-dir>/session_*\/logs) into the job dir before the temp dir goes. */
function keepSessionLogs(tempDir: string, ctx: RayNodeLogs): void {
  let sessions: string[] = [];
  try {
    sessions = readdirSync(tempDir).filter((n) => n.startsWith('session_') && n !== 'session_latest');
  } catch {
    return; // Ray never got as far as a session
  }
  try {
    const kept = keepLogs(
      tempDir,
      sessions.map((s) => join(tempDir, s, 'logs')),
      ctx.runtimeLogDir,
    );
    ctx.log(
      `ray: kept ${kept.files} session log file(s), ${Math.round(kept.bytes / 1024)} KiB, in ${ctx.runtimeLogDir}${kept.cut.length > 0 ? ` (${kept.cut.length} cut: see TRUNCATED.txt)` : ''}`,
    );
  } catch (err) {
    ctx.log(`ray: could not keep the session logs in ${ctx.runtimeLogDir}: ${(err as Error).message}`);
  }
}

export async function stopRayNode(
  node: PreparedRayNode,
  group: SpawnedGroup,
  graceMs: number,
  ctx: RayNodeLogs,
  now: () => number,
): Promise<void> {
  const t = now();
  // a worker stopped while it still starts at its lowered CPU share (boot.ts) dies at the agent's share
  restoreCpuShare(group.pid);
  // Ray's workers run in process groups of their own: whatever carries the node's mark or works in
  // its temp dir goes at the same moment as the group
  const [how, strays] = await Promise.all([
    stopGroup(group, graceMs),
    killMarked(RAY_MARK_ENV, node.mark, graceMs, [node.tempDir]),
  ]);
  ctx.log(
    `ray: stopped in ${now() - t} ms (${how}${strays > 0 ? `; ${strays} process(es) KILLed, found by ${RAY_MARK_ENV} or their working dir` : ''})`,
  );
  keepSessionLogs(node.tempDir, ctx);
  if (node.outsideScratch) rmSync(node.tempDir, { recursive: true, force: true });
}
