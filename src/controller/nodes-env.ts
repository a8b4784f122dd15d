/**
 * RAYSL_NODES for the entrypoint: the joined nodes as JSON. Linux refuses an exec whose single
 * environment string exceeds 128 KiB (E2BIG), which a job of ~1,500 nodes reaches; beyond
 * MAX_NODES_ENV bytes the variable is left out and RAYSL_NODES_FILE (always set) names the
 * same JSON in the job dir. GET /v1/nodes serves it too.
 */
import type { NodeInfo } from '../protocol/agent.js';

/** Well below the kernel's 128 KiB per string (MAX_ARG_STRLEN), counting the name. */
export const MAX_NODES_ENV = 64 * 1024;

export function nodesEnv(
  nodes: NodeInfo[],
  file: string,
): { env: Record<string, string>; json: string; tooLong: boolean } {
  const json = JSON.stringify(nodes);
  const tooLong = Buffer.byteLength(json) > MAX_NODES_ENV;
  return { env: tooLong ? { RAYSL_NODES_FILE: file } : { RAYSL_NODES: json, RAYSL_NODES_FILE: file }, json, tooLong };
}
