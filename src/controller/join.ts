/**
 * Waiting for the cluster to form: resolves on the join event that reaches --min-nodes, rejects
 * with ClusterFormError at the deadline (or as soon as too many nodes failed to ever reach it),
 * naming each missing node and its agent log.
 */
import { statSync } from 'node:fs';
import { ClusterFormError } from '../core/errors.js';
import type { AgentRegistry } from './agents.js';

export class Cancelled extends Error {}

/**
 * How long a give-up waits for the other nodes' news before it is said: nodes that fail for one
 * cause (a wrapper that does not exist, Ray missing) fail within milliseconds of each other, and
 * the message should count them all rather than call them "still starting". On a loaded host the
 * second node's news came 0.4 s after the first's (a CI run with 300 ms here named it "still
 * starting"); the wait ends at once when every node has said how it ended, so only a give-up with a
 * node that is really still starting pays all of it.
 */
const GIVE_UP_SETTLE_MS = 2000;

/** An agent log with nothing in it: naming it alone sends the user to an empty file. */
function emptyLogNote(log: string, containerCmd: boolean): string {
  let size: number | undefined;
  try {
    size = statSync(log).size;
  } catch {
    size = undefined;
  }
  if (size === undefined || size > 0) return '';
  return containerCmd
    ? ' (empty: the agent never started; the --container-cmd wrapper ended before running it, see the controller log)'
    : ' (empty: the agent never started, see the controller log)';
}

function missingReport(
  agents: AgentRegistry,
  gaveUpEarly = false,
  containerCmd = false,
): { text: string; nodes: Array<{ node: string; log: string; reason: string }> } {
  const nodes = agents.missing().map((m) => ({
    node: m.slot.name,
    log: `${m.slot.log}${emptyLogNote(m.slot.log, containerCmd)}`,
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
  const hints = new Set(
    agents
      .missing()
      .filter((m) => m.state === 'failed' || m.state === 'lost')
      .map((m) => m.hint),
  );
  const [only] = hints;
  return hints.size === 1 ? only : undefined;
}

export function waitForJoin(opts: {
  agents: AgentRegistry;
  min: number;
  timeoutMs: number;
  cancelled: Promise<unknown>;
  containerCmd?: boolean;
  settleMs?: number;
}): Promise<void> {
  const { agents, min, timeoutMs } = opts;
  const settleMs = opts.settleMs ?? GIVE_UP_SETTLE_MS;
  const total = agents.slots().length;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(settling);
      agents.off('joined', check);
      agents.off('failed', check);
      agents.off('lost', check);
      if (err) reject(err);
      else resolve();
    };
    const fail = (why: () => string, early: boolean) => {
      const missing = missingReport(agents, early, opts.containerCmd);
      const allEmpty = missing.nodes.length > 0 && missing.nodes.every((n) => n.log.includes(' (empty: '));
      const wrapperHint =
        allEmpty && opts.containerCmd
          ? 'check the --container-cmd wrapper: it must run the command it is given (try it by hand with `true` as that command)'
          : undefined;
      const nodeHint = wrapperHint ?? (early ? failedNodesHint(agents) : undefined);
      finish(
        new ClusterFormError(
          `the cluster did not form: ${why()}; ${agents.joinedNodes().length}/${min} nodes joined; missing: ${missing.text}`,
          {
            hint:
              nodeHint ??
              (early
                ? 'read the agent log(s) named above'
                : 'read the agent log(s) named above; raise --join-timeout if nodes are just slow, or lower --min-nodes'),
            details: { missing: missing.nodes, joined: agents.joinedNodes().map((n) => n.name), minNodes: min },
          },
        ),
      );
    };
    let settling: NodeJS.Timeout | undefined;
    const failedEarly = () => fail(() => `${agents.countIn(['failed', 'lost'])} node(s) failed before joining`, true);
    const check = () => {
      if (agents.joinedCount() >= min) return finish();
      const gone = agents.countIn(['failed', 'lost']);
      if (total - gone >= min) return;
      // every node has said how it ended: nothing more to wait for
      if (gone + agents.joinedCount() >= total) return failedEarly();
      settling ??= setTimeout(failedEarly, settleMs);
    };
    const timer = setTimeout(
      () => fail(() => `join timeout of ${(timeoutMs / 1000).toFixed(1)}s passed`, false),
      timeoutMs,
    );
    agents.on('joined', check);
    agents.on('failed', check);
    agents.on('lost', check);
    opts.cancelled.then(() => finish(new Cancelled('cancelled while the cluster was forming')));
    check();
  });
}
