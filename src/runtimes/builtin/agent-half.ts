/**
 * The builtin runtime's half in each agent: runs what the controller half placed on this node
 * (exec), stops it when asked (kill) and, at the end, stops everything it started.
 */
import type { AgentHalf, AgentHalfContext } from '../types.js';
import { parseToAgent } from '../../protocol/builtin.js';
import { runCommand, type RunningCommand } from './exec.js';

export function builtinAgentHalf(ctx: AgentHalfContext): AgentHalf {
  const running = new Map<string, RunningCommand>();
  let stopping = false;
  return {
    onMessage(body) {
      const m = parseToAgent(body);
      if (m.k === 'kill') {
        void running.get(m.id)?.stop(m.graceMs);
        return;
      }
      if (stopping) {
        ctx.send({ k: 'exited', id: m.id, exitCode: null, signal: null, error: 'the node is shutting down' });
        return;
      }
      const cmd = runCommand(m, ctx.env, ctx.cwd, (r) => ctx.send(r));
      running.set(m.id, cmd);
      void cmd.done.then(() => running.delete(m.id));
    },
    async stop(graceMs) {
      stopping = true;
      await Promise.all([...running.values()].map((c) => c.stop(graceMs)));
    },
  };
}
