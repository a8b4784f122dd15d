/**
 * The controller's messages, sorted by who waits for them. welcome, probe and start answer the
 * phases in order (next()); stop and refuse end the agent; run, rt and entrypoint belong to a
 * serving node and are held until serve() takes them (a run sent right after ready is not lost).
 */
import { InternalError } from '../core/errors.js';
import type { ControllerMessage, ProbeAgain, Start, Welcome } from '../protocol/agent.js';
import type { Channel } from './channel.js';
import type { Ending, Outcome } from './outcome.js';

export type PhaseMessage = Welcome | ProbeAgain | Start;
export type ServedMessage = Extract<ControllerMessage, { t: 'rt' | 'entrypoint' | 'drain' }>;

export class Inbox {
  private readonly queue: PhaseMessage[] = [];
  private wake: () => void = () => {};
  private readonly held: ServedMessage[] = [];
  private server: ((m: ServedMessage) => void) | undefined;

  constructor(
    channel: Channel,
    private readonly ending: Ending,
  ) {
    channel.onMessage((m) => this.sort(m));
  }

  /** The next phase message in arrival order, or how the agent ended while it waited. */
  async next(): Promise<PhaseMessage | Outcome> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      const arrived = new Promise<undefined>((r) => (this.wake = () => r(undefined)));
      const ended = await Promise.race([arrived, this.ending.promise]);
      if (ended) return ended;
    }
  }

  /** Hands the serving node's messages to `fn`, those held so far first. */
  serve(fn: (m: ServedMessage) => void): void {
    this.server = fn;
    for (const m of this.held.splice(0)) fn(m);
  }

  private sort(m: ControllerMessage): void {
    switch (m.t) {
      case 'welcome':
      case 'probe':
      case 'start':
        this.queue.push(m);
        this.wake();
        return;
      case 'stop':
        this.ending.settle({ kind: 'stop', reason: m.reason });
        return;
      case 'refuse':
        this.ending.settle({ kind: 'refused', reason: m.reason });
        return;
      default:
        if (this.server) this.server(m);
        else this.held.push(m);
    }
  }
}

export function protocolError(what: string): InternalError {
  return new InternalError(`protocol error between agent and controller: ${what}`, {
    hint: 'the agent and the controller must come from the same raysl version',
  });
}
