/**
 * Resolving the ray port layout (src/core/ports.ts) into what `ray start` takes, with a clear
 * error if the layout lacks a port Ray opens (a layout/adapter mismatch is a bug, not user error).
 */
import type { PortLayout } from '../core/types.js';
import { InternalError } from '../core/errors.js';
import { portsOf, rangesOf, RAY_PORT_NAMES } from '../core/ports.js';
import type { RayPorts } from './ray-argv.js';

const NAMES = RAY_PORT_NAMES;

export function resolveRayPorts(base: number, layout: PortLayout): { ports: RayPorts; workerPorts: [number, number] } {
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
  const ports = Object.fromEntries(NAMES.map((n) => [n, all[n] as number])) as unknown as RayPorts;
  return { ports, workerPorts: [worker[0], worker[1]] };
}
