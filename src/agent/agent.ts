/**
 * The per-node agent (`raysl agent`, one srun task or one local child per node), as its phases:
 *
 *   connect -> welcome -> check grant -> preflight (--preflight) -> probe -> start runtime -> serve
 *
 * Each phase returns its result or how the agent ended (an Outcome: stop, refused, signal, lost,
 * unfit, start-failed, runtime-exited), and pushes the undo step of whatever it starts onto the
 * teardown stack, so the teardown runs in reverse start order by construction. classify() turns
 * the outcome into the exit code, the log line and what the controller is told. Nothing the
 * agent started outlives it; the head's agent also stops the entrypoint's process group when it
 * loses the controller (entrypoint-guard.ts).
 */
import { UsageError } from '../core/errors.js';
import { TOKEN_ENV } from '../core/env-names.js';
import { STOP_SIGNALS, type SignalSource } from '../proc/signals.js';
import { getRuntime } from '../runtimes/index.js';
import type { Channel } from './channel.js';
import { connect, welcome } from './connect.js';
import { resolveNodeName, type AgentContext, type AgentFaults } from './context.js';
import { checkGrant, grantedFromEnv } from './granted.js';
import { Inbox } from './inbox.js';
import { classify, Ending, isOutcome, type Outcome } from './outcome.js';
import { preflightPhase } from './preflight-phase.js';
import { probePhase } from './probe-phase.js';
import { serve } from './serve.js';
import { startPhase } from './start-phase.js';
import { TeardownStack } from '../proc/teardown.js';

export { resolveNodeName };

export interface AgentOptions {
  controller: string;
  node?: string;
  role: 'head' | 'worker';
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  signals?: SignalSource;
  graceMs?: number;
  /** Where commands run when a request names no cwd (default: this process's cwd). */
  cwd?: string;
  faults?: AgentFaults;
  /** Keeps a record of how this agent ended (cli/commands/agent.ts writes agent-<node>.ending.json); never throws. */
  recordEnding?: (node: string, outcome: Outcome['kind'], line: string) => void;
}

export async function runAgent(o: AgentOptions): Promise<number> {
  const token = o.env[TOKEN_ENV];
  if (!token) {
    throw new UsageError(`the agent needs the job token in ${TOKEN_ENV}`, {
      hint: 'agents are started by the raysl controller, not by hand',
    });
  }
  const ctx = agentContext(o);
  try {
    listenForSignals(ctx, o.signals ?? process);
    const channel = await connect(ctx, o.controller, token);
    const outcome = await phases(ctx, channel, o.controller);
    ctx.ending.settle(outcome);
    const { code, line, tell } = classify(outcome);
    if (tell) channel.send(tell);
    ctx.log(line);
    o.recordEnding?.(ctx.node, outcome.kind, line);
    return code;
  } finally {
    await ctx.teardown.unwind();
  }
}

async function phases(ctx: AgentContext, channel: Channel, controller: string): Promise<Outcome> {
  const inbox = new Inbox(channel, ctx.ending);
  const granted = grantedFromEnv(ctx.env);
  const w = await welcome(ctx, channel, inbox, granted);
  if (isOutcome(w)) return w;
  if (ctx.faults.silent) return idle(ctx, 'silent: welcomed, never probing');
  const grant = checkGrant(granted, w.expected, ctx.node);
  if (!grant.ok)
    return {
      kind: 'unfit',
      reason: grant.problem ?? 'resource mismatch',
      ...(grant.hint !== undefined ? { hint: grant.hint } : {}),
    };
  const adapter = getRuntime(w.runtime);
  if (w.preflight !== undefined) {
    const unfit = await preflightPhase(ctx, adapter, w.preflight, grant, w.scratchDir);
    if (unfit) return unfit;
  }
  const block = await probePhase(ctx, channel, inbox, adapter, w);
  if (isOutcome(block)) return block;
  if (ctx.faults.neverJoin) return idle(ctx, 'neverJoin: probed, never starting its runtime');
  const joined = await startPhase(ctx, channel, adapter, w, grant, block);
  if (isOutcome(joined)) return joined;
  return serve(ctx, channel, inbox, adapter, joined, controller);
}

function agentContext(o: AgentOptions): AgentContext {
  const node = resolveNodeName(o.env, o.node);
  const log = (l: string) => o.log(`[${node}] ${l}`);
  const graceMs = o.graceMs ?? 3000;
  return {
    node,
    role: o.role,
    env: o.env,
    cwd: o.cwd ?? process.cwd(),
    graceMs,
    log,
    faults: o.faults ?? {},
    ending: new Ending(),
    // a step's TERM -> grace -> KILL, then the same for what its group left behind, fits inside
    teardown: new TeardownStack({ log, boundMs: 2 * graceMs + 2000 }),
  };
}

function listenForSignals(ctx: AgentContext, signals: SignalSource): void {
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => ctx.ending.settle({ kind: 'signal', signal })] as const);
  for (const [sig, fn] of handlers) signals.on(sig, fn);
  ctx.teardown.push({
    name: 'the signal handlers',
    run: () => handlers.forEach(([sig, fn]) => signals.off(sig, fn)),
    quiet: true,
  });
}

/** An injected fault: stay connected doing nothing until the agent is ended from outside. */
function idle(ctx: AgentContext, what: string): Promise<Outcome> {
  ctx.log(`injected fault ${what}`);
  return ctx.ending.promise;
}
