/**
 * The probe phase: bind-probe the job's port block where the runtime will bind and report it
 * (`probed`); the controller moves the job to another block (`probe`) until every node found one
 * free, then says `start`.
 */
import { networkInterfaces } from 'node:os';
import { asRayslError } from '../core/errors.js';
import type { Start, TakenPort, Welcome } from '../protocol/agent.js';
import { resolveNodeIp } from '../runtimes/iface.js';
import type { RuntimeAdapter } from '../runtimes/types.js';
import type { Channel } from './channel.js';
import type { AgentContext } from './context.js';
import { protocolError, type Inbox } from './inbox.js';
import { isOutcome, type Outcome } from './outcome.js';
import { probePorts } from './port-probe.js';

/** The block every node found free, and the start the controller gave for it. */
export interface ProbedBlock {
  portBase: number;
  /** The address this node's runtime binds (its --iface address when one is named). */
  bindAddress: string;
  start: Start;
}

export async function probePhase(
  ctx: AgentContext,
  channel: Channel,
  inbox: Inbox,
  adapter: RuntimeAdapter,
  w: Welcome,
): Promise<ProbedBlock | Outcome> {
  let bindAddress: string;
  try {
    bindAddress = resolveNodeIp(w.iface, w.address, networkInterfaces());
  } catch (err) {
    const e = asRayslError(err);
    return { kind: 'unfit', reason: e.message, ...(e.hint !== undefined ? { hint: e.hint } : {}) };
  }
  // A runtime that binds 0.0.0.0 (Ray) collides with a holder on any address of the node.
  const probeOn = adapter.bindsWildcard === true ? '0.0.0.0' : bindAddress;
  let { round, portBase, probe } = w;
  for (;;) {
    const taken = await takenPorts(probeOn, probe);
    ctx.log(describeProbe(portBase, w.layout.size, taken));
    channel.send({ t: 'probed', round, portBase, taken, bindAddress });
    const next = await inbox.next();
    if (isOutcome(next)) return next;
    if (next.t === 'probe') {
      ({ round, portBase, probe } = next);
      continue;
    }
    if (next.t !== 'start' || next.round !== round)
      throw protocolError(`expected start or probe for round ${round}, got ${JSON.stringify(next)}`);
    return { portBase, bindAddress, start: next };
  }
}

async function takenPorts(address: string, ports: number[]): Promise<TakenPort[]> {
  return (await probePorts(address, ports, { wildcard: address === '0.0.0.0' }))
    .filter((p) => !p.free)
    .map((p) => ({ port: p.port, reason: p.reason ?? 'in-use', ...(p.holder ? { holder: p.holder } : {}) }));
}

function describeProbe(portBase: number, size: number, taken: TakenPort[]): string {
  const block = `ports ${portBase}-${portBase + size - 1}`;
  const first = taken[0];
  if (!first) return `${block}: free`;
  const holder = first.holder ? ` by pid ${first.holder.pid} (${first.holder.command})` : '';
  return `${block}: port ${first.port} is taken${holder}${taken.length > 1 ? ` (+${taken.length - 1} more)` : ''}`;
}
