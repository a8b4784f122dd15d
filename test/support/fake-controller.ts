/**
 * A controller small enough to read in one go, for driving the agent in-process over a real
 * socket: it answers the agent's HTTP Upgrade (token checked) and then speaks newline JSON.
 * The test plays the controller's part by hand: next() is the agent's next message, send() answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  AGENT_UPGRADE,
  encodeMessage,
  parseAgentMessage,
  type AgentMessage,
  type ControllerMessage,
} from '../../src/protocol/agent.js';
import { LineDecoder } from '../../src/protocol/wire.js';

export interface FakeController {
  /** host:port for the agent's --controller. */
  address: string;
  /** The agent's next message, in order; rejects naming what came so far if none arrives in time. */
  next(timeoutMs?: number): Promise<AgentMessage>;
  send(m: ControllerMessage): void;
  /** Cuts the agent's connection without a word, as a controller killed by SIGKILL would. */
  drop(): void;
  /** Resolves when the agent's connection is closed (by either side); every message it sent has arrived. */
  agentGone(): Promise<void>;
  close(): Promise<void>;
}

export async function fakeController(token: string): Promise<FakeController> {
  const inbox: AgentMessage[] = [];
  const seen: string[] = [];
  let wake: () => void = () => {};
  let agent: Socket | undefined;
  let gone: () => void = () => {};
  const agentGone = new Promise<void>((r) => (gone = r));
  const server: Server = createServer((socket) => {
    let head = '';
    const decoder = new LineDecoder();
    const onData = (chunk: Buffer) => {
      if (agent !== socket) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        const request = head.slice(0, end).toLowerCase();
        if (
          !request.includes(`authorization: bearer ${token.toLowerCase()}`) ||
          !request.includes(`upgrade: ${AGENT_UPGRADE}`)
        ) {
          socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        agent = socket;
        socket.once('close', () => gone());
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${AGENT_UPGRADE}\r\nConnection: Upgrade\r\n\r\n`);
        chunk = Buffer.from(head.slice(end + 4), 'latin1');
      }
      for (const raw of decoder.push(chunk.toString('utf8'))) {
        const m = parseAgentMessage(raw);
        seen.push(m.t);
        inbox.push(m);
        wake();
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    async next(timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = inbox.shift();
        if (m) return m;
        const left = until - Date.now();
        if (left <= 0)
          throw new Error(
            `expected a message from the agent within ${timeoutMs} ms; got so far: ${seen.join(', ') || 'nothing'}`,
          );
        await new Promise<void>((r) => {
          const timer = setTimeout(r, left);
          wake = () => (clearTimeout(timer), r());
        });
      }
    },
    send: (m) => agent?.write(encodeMessage(m)),
    drop: () => agent?.destroy(),
    agentGone: () => agentGone,
    close: () =>
      new Promise<void>((r) => {
        agent?.destroy();
        server.close(() => r());
      }),
  };
}
