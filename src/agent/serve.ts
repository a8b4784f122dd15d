/**
 * The serve phase: the node has joined; it does what the controller asks until the agent ends
 * (stop, refuse, a signal, the controller gone, or the runtime exiting on its own).
 */
import type { RunRequest } from '../controller/protocol.js';
import { runCommand, type RunningCommand } from '../runtimes/builtin/exec.js';
import type { RuntimeAdapter } from '../runtimes/types.js';
import type { Channel } from './channel.js';
import type { AgentContext } from './context.js';
import { guardEntrypoint } from './entrypoint-guard.js';
import type { Inbox } from './inbox.js';
import type { Outcome } from './outcome.js';
import type { JoinedNode } from './start-phase.js';

export function serve(ctx: AgentContext, channel: Channel, inbox: Inbox, adapter: RuntimeAdapter, node: JoinedNode): Promise<Outcome> {
  void node.runtime.exited.then((e) => {
    if (!e.expected) ctx.ending.settle({ kind: 'runtime-exited', code: e.code, signal: e.signal, ...(e.detail !== undefined ? { detail: e.detail } : {}) });
  });
  const env = { ...ctx.env, ...node.runEnv };
  const commands = builtinCommandRunner(ctx, channel, env);
  const half = adapter.agentHalf?.({
    nodeName: ctx.node,
    send: (body) => channel.send({ t: 'rt', body }),
    env,
    cwd: ctx.cwd,
    portBase: node.portBase,
    layout: node.layout,
    log: ctx.log,
  });
  if (half) ctx.teardown.push(`the ${adapter.name} runtime's agent half`, () => half.stop(ctx.graceMs));
  inbox.serve((m) => {
    if (m.t === 'run') commands.run(m.id, m.req);
    else if (m.t === 'entrypoint') guardEntrypoint(ctx, m.pgid);
    else if (half) half.onMessage(m.body);
    else ctx.log(`ignoring a runtime message: runtime ${adapter.name} has no agent half`);
  });
  return ctx.ending.promise;
}

/**
 * The builtin runtime's command execution: each 'run' request runs in its own process group
 * (builtin/exec.ts) and is answered by id; whatever still runs is stopped in the teardown.
 */
function builtinCommandRunner(ctx: AgentContext, channel: Channel, env: NodeJS.ProcessEnv): { run(id: number, req: RunRequest): void } {
  const running = new Set<RunningCommand>();
  ctx.teardown.push('the running commands', () => Promise.all([...running].map((c) => c.stop(ctx.graceMs))));
  return {
    run(id, req) {
      const cmd = runCommand(req, env, ctx.cwd);
      running.add(cmd);
      void cmd.result.then((result) => {
        running.delete(cmd);
        channel.send({ t: 'result', id, result });
      });
    },
  };
}
