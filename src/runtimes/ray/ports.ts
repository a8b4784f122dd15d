/**
 * Resolving the ray port layout (src/core/ports.ts) into what `ray start` and Ray Serve take, with a
 * clear error if the layout lacks a port Ray opens (a layout/adapter mismatch is a bug, not user error).
 */
import type { PortLayout } from '../../core/types.js';
import { InternalError } from '../../core/errors.js';
import { portsOf, rangesOf, RAY_PORT_NAMES, RAY_SERVE_PORT_NAMES, type RayServePortName } from '../../core/ports.js';
import type { RayPorts } from './argv.js';

const NAMES = [...RAY_PORT_NAMES, ...RAY_SERVE_PORT_NAMES];

/** Ray Serve's proxy ports on one node (offsets 13..16 of the block). */
export type ServePorts = Record<RayServePortName, number>;

export function resolveRayPorts(
  base: number,
  layout: PortLayout,
): { ports: RayPorts; workerPorts: [number, number]; serve: ServePorts } {
  const all = portsOf(base, layout);
  const ranges = rangesOf(base, layout);
  const missing = NAMES.filter((n) => typeof all[n] !== 'number');
  const worker = ranges['worker'];
  if (missing.length > 0 || !worker) {
    throw new InternalError(
      `the port layout lacks ports Ray opens: expected ${NAMES.join(', ')} and range worker, missing ${[...missing, ...(worker ? [] : ['range worker'])].join(', ')}`,
      { hint: "this is a bug: portLayout('ray', ...) and the ray adapter disagree" },
    );
  }
  const ports = Object.fromEntries(RAY_PORT_NAMES.map((n) => [n, all[n] as number])) as unknown as RayPorts;
  const serve = Object.fromEntries(RAY_SERVE_PORT_NAMES.map((n) => [n, all[n] as number])) as unknown as ServePorts;
  return { ports, workerPorts: [worker[0], worker[1]], serve };
}
