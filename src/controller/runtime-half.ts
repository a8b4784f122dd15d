/**
 * The runtime's controller half (the builtin runtime's scheduler, tasks, groups and KV): created
 * with the control server, fed the joins and losses of nodes and its agents' `rt` messages, and
 * closed before the server on teardown (form.ts pushes it after the server), so every waiting
 * caller gets an answer.
 */
import { join } from 'node:path';
import type { ControllerHalf } from '../runtimes/types.js';
import type { AgentRegistry } from './agents.js';
import type { BlockGeometry } from './block.js';
import type { Job } from './job.js';
import type { PortPhase } from './port-phase.js';

export function attachRuntimeHalf(
  job: Job,
  agents: AgentRegistry,
  geometry: BlockGeometry,
  phase: () => PortPhase,
): ControllerHalf | undefined {
  const slots = new Map(agents.slots().map((s) => [s.name, s]));
  const half = job.runtime.controllerHalf?.({
    jobId: job.jobId,
    log: job.log,
    send: (node, body) => agents.send(node, { t: 'rt', body }),
    layout: job.plan.portLayout,
    portBase: (node) => {
      const slot = slots.get(node);
      const block = phase().current();
      return slot ? geometry.sliceBase(slot, block) : block.base;
    },
    taskLog: join(job.paths.dir, 'tasks.log'),
    ...(job.plan.autoscale ? { maxNodes: job.plan.autoscale.maxNodes } : {}),
  });
  if (!half) return undefined;
  agents.on('rt', (node, body) => {
    try {
      half.onMessage(node, body);
    } catch (err) {
      job.log(`${node}: runtime message refused: ${(err as Error).message}`);
    }
  });
  agents.on('joined', (info) => half.onJoin(info));
  agents.on('lost', (node, reason) => half.onLoss(node, reason));
  return half;
}
