/** The first two phases: connect (the channel to the controller) and welcome (hello, then its instructions). */
import { hostname } from 'node:os';
import { AGENT_PROTOCOL as PROTOCOL_VERSION, type Granted, type Welcome } from '../protocol/agent.js';
import { connectTimeoutMs, openChannel, type Channel } from './channel.js';
import type { AgentContext } from './context.js';
import { protocolError, type Inbox } from './inbox.js';
import { sweepWhenOrphaned } from './orphan-sweep.js';
import { isOutcome, type Outcome } from './outcome.js';

export async function connect(ctx: AgentContext, controller: string, token: string): Promise<Channel> {
  const channel = await openChannel(controller, token, connectTimeoutMs(ctx.env));
  ctx.teardown.push({ name: 'the channel to the controller', run: () => channel.close() });
  sweepWhenOrphaned(ctx);
  void channel.closed.then(() => ctx.ending.settle({ kind: 'lost' }));
  return channel;
}

export async function welcome(
  ctx: AgentContext,
  channel: Channel,
  inbox: Inbox,
  granted: Granted,
): Promise<Welcome | Outcome> {
  channel.send({
    t: 'hello',
    v: PROTOCOL_VERSION,
    node: ctx.node,
    role: ctx.role,
    pid: process.pid,
    hostname: hostname(),
    granted,
  });
  const first = await inbox.next();
  if (isOutcome(first)) return first;
  if (first.t !== 'welcome') throw protocolError(`expected welcome first, got ${first.t}`);
  return first;
}
