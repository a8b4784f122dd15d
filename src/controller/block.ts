/**
 * The job's port block: where each node's ports sit in it, and the control server's bind, which
 * picks the first block. Other raysl jobs' blocks are avoided up front; the bind itself settles
 * races (here for the control server, in the probe phase for every port on every node).
 */
import { ClusterFormError, InternalError } from '../core/errors.js';
import { allocatePortBlock, portsOf } from '../core/ports.js';
import type { Plan, PortBlock } from '../core/types.js';
import type { AgentSlot } from './agents.js';
import { listen, type ControlServer } from './server.js';

export interface BlockGeometry {
  /** Ports in a block: the layout, once per node when nodes share one port space. */
  size: number;
  controllerPort(block: PortBlock): number;
  /** The port base `slot` uses in `block` (its own slice when nodes share one port space). */
  sliceBase(slot: AgentSlot, block: PortBlock): number;
  /** The ports of one node's slice (the whole block unless nodes share one port space). */
  slicePorts(base: number): number[];
}

/**
 * Ray binds 0.0.0.0 whatever its node address: nodes that share one port space (the local
 * launcher) get a slice of the block each, node i at base + i * layout size.
 */
export function blockGeometry(plan: Plan, nodes: string[], sliced: boolean): BlockGeometry {
  const slices = sliced ? nodes.length : 1;
  const layoutSize = plan.portLayout.size;
  return {
    size: layoutSize * slices,
    controllerPort: (block) => {
      const p = portsOf(block.base, plan.portLayout).controller;
      if (p === undefined)
        throw new InternalError('the port layout has no controller port', { hint: 'this is a bug in raysl' });
      return p;
    },
    sliceBase: (slot, block) => block.base + (slices > 1 ? nodes.indexOf(slot.name) * layoutSize : 0),
    slicePorts: (base) => Array.from({ length: layoutSize }, (_, i) => base + i),
  };
}

/** Binds the control server on the first free block's controller port; a taken port moves to the next block. */
export async function bindControlServer(o: {
  ctl: ControlServer;
  host: string;
  plan: Plan;
  jobId: string;
  geometry: BlockGeometry;
  /** Other jobs' blocks; a block found taken here is added. */
  taken: PortBlock[];
  attempts: number;
  firstPortBase?: number;
  log: (line: string) => void;
}): Promise<PortBlock> {
  const { geometry, plan, host } = o;
  for (let attempt = 0; ; attempt++) {
    const candidate =
      attempt === 0 && o.firstPortBase !== undefined
        ? { base: o.firstPortBase, size: geometry.size }
        : allocatePortBlock({ jobId: o.jobId, size: geometry.size, range: plan.portRange, taken: o.taken });
    const port = geometry.controllerPort(candidate);
    try {
      await listen(o.ctl.server, host, port);
      return candidate;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' || attempt + 1 >= o.attempts) {
        throw new ClusterFormError(`cannot start the control server on ${host}:${port}: ${(err as Error).message}`, {
          hint:
            code === 'EADDRINUSE'
              ? 'too many port blocks are in use on this node; run `raysl check-ports` to see who holds them'
              : `check that ${host} is an address of this host`,
        });
      }
      o.log(`port ${port} on ${host} is in use: moving to the next block`);
      o.taken.push(candidate);
    }
  }
}
