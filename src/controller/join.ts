/**
 * Waiting for the cluster to form: resolves on the join event that reaches --min-nodes, rejects
 * with ClusterFormError at the deadline (or as soon as too many nodes failed to ever reach it),
 * naming each missing node and its agent log.
 */
import { ClusterFormError } from '../core/errors.js';
import type { AgentRegistry } from './agents.js';

export class Cancelled extends Error {}

export function missingReport(agents: AgentRegistry, gaveUpEarly = false): { text: string; nodes: Array<{ node: string; log: string; reason: string }> } {
  const nodes = agents.missing().map((m) => ({
    node: m.slot.name,
    log: m.slot.log,
    reason:
      m.reason ??
      (gaveUpEarly
        ? 'still starting when the job gave up'
        : m.state === 'connected'
          ? 'connected but its runtime never came up'
          : 'its agent never registered with the controller'),
  }));
  return { text: nodes.map((n) => `${n.node} (${n.reason}; log: ${n.log})`).join(', '), nodes };
}

/** The hint of the nodes that failed, when they all said the same (e.g. Ray missing on every node). */
function failedNodesHint(agents: AgentRegistry): string | undefined {
  const hints = new Set(agents.missing().filter((m) => m.state === 'failed' || m.state === 'lost').map((m) => m.hint));
  const [only] = hints;
  return hints.size === 1 ? only : undefined;
}

export function waitForJoin(opts: { agents: AgentRegistry; min: number; timeoutMs: number; cancelled: Promise<unknown> }): Promise<void> {
  const { agents, min, timeoutMs } = opts;
  const total = agents.slots().length;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      agents.off('joined', check);
      agents.off('failed', check);
      agents.off('lost', check);
      if (err) reject(err);
      else resolve();
    };
    const fail = (why: string, early: boolean) => {
      const missing = missingReport(agents, early);
      const nodeHint = early ? failedNodesHint(agents) : undefined;
      finish(
        new ClusterFormError(`the cluster did not form: ${why}; ${agents.joinedNodes().length}/${min} nodes joined; missing: ${missing.text}`, {
          hint: nodeHint ?? (early ? 'read the agent log(s) named above' : 'read the agent log(s) named above; raise --join-timeout if nodes are just slow, or lower --min-nodes'),
          details: { missing: missing.nodes, joined: agents.joinedNodes().map((n) => n.name), minNodes: min },
        }),
      );
    };
    const check = () => {
      if (agents.joinedCount() >= min) return finish();
      const gone = agents.countIn(['failed', 'lost']);
      if (total - gone < min) fail(`${gone} node(s) failed before joining`, true);
    };
    const timer = setTimeout(() => fail(`join timeout of ${(timeoutMs / 1000).toFixed(1)}s passed`, false), timeoutMs);
    agents.on('joined', check);
    agents.on('failed', check);
    agents.on('lost', check);
    opts.cancelled.then(() => finish(new Cancelled('cancelled while the cluster was forming')));
    check();
  });
}
