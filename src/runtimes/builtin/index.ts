/**
 * The builtin runtime: the agents themselves form the cluster. Nothing extra runs on a node; its
 * two halves do the work: the controller half (scheduler, tasks, services, placement groups, KV;
 * controller-half.ts) and one agent half per node that runs what was placed there (agent-half.ts).
 */
import type { RuntimeAdapter, RuntimeProcess } from '../types.js';
import { builtinAgentHalf } from './agent-half.js';
import { builtinControllerHalf } from './controller-half.js';

export const builtinRuntime: RuntimeAdapter = {
  name: 'builtin',
  // the agent itself is the runtime: the node that runs this check has it
  locate: () => ({ found: process.execPath }),
  async start(ctx): Promise<RuntimeProcess> {
    const custom = Object.entries(ctx.customResources ?? {})
      .map(([name, n]) => `, ${n} ${name}`)
      .join('');
    ctx.log(`builtin runtime up on ${ctx.address} (${ctx.resources.cpus} CPU, ${ctx.resources.gpus} GPU${custom})`);
    let stopped: (v: { code: number | null; signal: NodeJS.Signals | null; expected: boolean }) => void = () => {};
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; expected: boolean }>(
      (r) => (stopped = r),
    );
    return {
      ready: Promise.resolve(),
      exited,
      stop: async () => stopped({ code: 0, signal: null, expected: true }),
    };
  },
  controllerHalf: builtinControllerHalf,
  agentHalf: builtinAgentHalf,
  entrypointEnv: () => ({}),
};
