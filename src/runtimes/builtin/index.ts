/**
 * The builtin runtime: the agents themselves form the cluster. Nothing extra runs on a node;
 * the node table, resources, KV store and command execution go through the control server
 * (controller/server.ts) and the agent channel (agent/serve.ts, builtin/exec.ts).
 */
import type { RuntimeAdapter, RuntimeProcess } from '../types.js';

export const builtinRuntime: RuntimeAdapter = {
  name: 'builtin',
  async start(ctx): Promise<RuntimeProcess> {
    ctx.log(`builtin runtime up on ${ctx.address} (${ctx.resources.cpus} CPU, ${ctx.resources.gpus} GPU)`);
    let stopped: (v: { code: number | null; signal: NodeJS.Signals | null; expected: boolean }) => void = () => {};
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; expected: boolean }>((r) => (stopped = r));
    return {
      ready: Promise.resolve(),
      exited,
      stop: async () => stopped({ code: 0, signal: null, expected: true }),
    };
  },
  entrypointEnv: () => ({}),
};
