/**
 * The serve phase: the node has joined; it does what the controller asks until the agent ends
 * (stop, refuse, a signal, the controller gone, or the runtime exiting on its own).
 */
import { ADDRESS_ENV } from '../core/env-names.js';
import type { RuntimeAdapter } from '../runtimes/types.js';
import type { Channel } from './channel.js';
import type { AgentContext } from './context.js';
import { guardEntrypoint } from './entrypoint-guard.js';
import type { Inbox } from './inbox.js';
import type { Outcome } from './outcome.js';
import type { JoinedNode } from './start-phase.js';

export function serve(
  ctx: AgentContext,
  channel: Channel,
  inbox: Inbox,
  adapter: RuntimeAdapter,
  node: JoinedNode,
  controller: string,
): Promise<Outcome> {
  // a drained runtime (shrink) leaves once its node is idle: then the agent's work is done
  let drained = false;
  void node.runtime.exited.then((e) => {
    if (drained) ctx.ending.settle({ kind: 'stop', reason: 'drained: the runtime left once the node was idle' });
    else if (!e.expected)
      ctx.ending.settle({
        kind: 'runtime-exited',
        code: e.code,
        signal: e.signal,
        ...(e.detail !== undefined ? { detail: e.detail } : {}),
      });
  });
  // what a node's commands see: the job's and the node's environment, and where to reach the
  // control server (a task may itself connect() and submit tasks, as a Ray task may)
  const env = { ...ctx.env, ...node.runEnv, [ADDRESS_ENV]: controller };
  const half = adapter.agentHalf?.({
    nodeName: ctx.node,
    send: (body) => channel.send({ t: 'rt', body }),
    env,
    cwd: ctx.cwd,
    portBase: node.portBase,
    layout: node.layout,
    log: ctx.log,
  });
  if (half) ctx.teardown.push({ name: `the ${adapter.name} runtime's agent half`, run: () => half.stop(ctx.graceMs) });
  inbox.serve((m) => {
    if (m.t === 'entrypoint') guardEntrypoint(ctx, m.pgid);
    else if (m.t === 'drain') drained = drainRuntime(ctx, node, m.deadlineSec, m.reason);
    else if (half) {
      // a malformed runtime message is the sender's bug: say so, keep serving
      try {
        half.onMessage(m.body);
      } catch (err) {
        ctx.log(`runtime message refused: ${(err as Error).message}`);
      }
    } else ctx.log(`ignoring a runtime message: runtime ${adapter.name} has no agent half`);
  });
  return ctx.ending.promise;
}

/**
 * Shrink: the runtime drains this node itself (Ray: its GCS's DrainNode; the raylet leaves once
 * idle) and the agent ends once it did; a runtime without a drain of its own waits for the
 * controller's stop at the drain deadline.
 */
function drainRuntime(ctx: AgentContext, node: JoinedNode, deadlineSec: number, reason: string): boolean {
  const drain = node.runtime.drain;
  if (drain === undefined) {
    ctx.log(`drain asked (${reason}): the runtime has no drain of its own; stopping at the deadline`);
    return false;
  }
  ctx.log(`draining this node (${reason}), deadline ${deadlineSec} s`);
  drain(deadlineSec, reason).then(
    (said) => {
      ctx.log(`drained${said ? `: ${said}` : ''}`);
      ctx.ending.settle({ kind: 'stop', reason: 'drained: the node is idle and left the runtime' });
    },
    (err: unknown) =>
      ctx.log(`drain failed: ${(err as Error).message}; the controller stops this node at the deadline`),
  );
  return true;
}
