/**
 * A registry behind a real TCP server, and agents speaking the agent channel's JSON lines over
 * real sockets: the controller's side sees exactly what it sees in a job, minus the HTTP upgrade.
 * Waits are on messages and socket events with a deadline, never on a timer.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { AgentRegistry, AgentSlot } from '../../src/controller/agents.js';
import {
  AGENT_PROTOCOL as PROTOCOL_VERSION,
  encodeMessage,
  type AgentMessage,
  type ControllerMessage,
  type NodeInfo,
} from '../../src/protocol/agent.js';
import { LineDecoder } from '../../src/protocol/wire.js';

export interface WireAgent {
  socket: Socket;
  send(m: AgentMessage | Record<string, unknown>): void;
  /** The next controller message (of type `t` when given; others before it are skipped). */
  next<T extends ControllerMessage['t']>(t?: T, ms?: number): Promise<Extract<ControllerMessage, { t: T }>>;
  /** Every controller message received so far. */
  received: ControllerMessage[];
  /** Resolves when the controller's side closed the socket. */
  closed: Promise<void>;
  hello(node: string, role?: 'head' | 'worker'): void;
  ready(node: string): void;
}

export interface RegistryServer {
  connect(): Promise<WireAgent>;
  close(): Promise<void>;
}

export async function serveRegistry(registry: AgentRegistry): Promise<RegistryServer> {
  const server = createServer((s) => registry.attach(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const clients: Socket[] = [];
  return {
    connect: async () => {
      const socket = connect(port, '127.0.0.1');
      clients.push(socket);
      await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
      return wireAgent(socket);
    },
    close: async () => {
      for (const c of clients) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function wireAgent(socket: Socket): WireAgent {
  const decoder = new LineDecoder();
  const received: ControllerMessage[] = [];
  let read = 0;
  const wakers: Array<() => void> = [];
  const wake = () => wakers.splice(0).forEach((w) => w());
  let ended = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received.push(...(decoder.push(chunk) as ControllerMessage[]));
    wake();
  });
  const closed = new Promise<void>((r) => socket.once('close', () => ((ended = true), wake(), r())));
  // the registry ends its side; ending ours lets the socket close, as the agent does
  socket.on('end', () => socket.end());
  socket.on('error', () => {});
  const agent: WireAgent = {
    socket,
    received,
    closed,
    send: (m) => void socket.write(encodeMessage(m as AgentMessage)),
    next: (t, ms = 5000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${t ?? 'message'} within ${ms} ms; got ${JSON.stringify(received.slice(read))}`)),
          ms,
        );
        const look = () => {
          while (read < received.length) {
            const m = received[read++] as ControllerMessage;
            if (t === undefined || m.t === t) {
              clearTimeout(timer);
              return resolve(m as never);
            }
          }
          if (ended) {
            clearTimeout(timer);
            return reject(new Error(`the socket closed before a ${t ?? 'message'} came`));
          }
          wakers.push(look);
        };
        look();
      }),
    hello: (node, role = 'worker') =>
      agent.send({ t: 'hello', v: PROTOCOL_VERSION, node, role, pid: 4242, hostname: 'host', granted: { gpuIds: [] } }),
    ready: (node) => agent.send({ t: 'ready', node: nodeInfo(node) }),
  };
  return agent;
}

export function nodeInfo(name: string): NodeInfo {
  return { name, role: 'worker', address: '127.0.0.1', hostname: 'host', cpus: 4, gpus: 0, gpuIds: [] };
}

export function slots(...names: string[]): AgentSlot[] {
  return names.map((name, i) => ({
    name,
    role: i === 0 ? 'head' : 'worker',
    address: `127.0.1.${i + 1}`,
    log: `/jobs/1/agent-${name}.log`,
  }));
}

/** The next emission of `event`, with a deadline. */
export function nextEvent<A extends unknown[]>(
  registry: AgentRegistry,
  event: 'joined' | 'failed' | 'lost' | 'connected' | 'probed',
  ms = 5000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${ms} ms`)), ms);
    registry.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as A);
    });
  });
}
