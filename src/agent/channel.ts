/**
 * The agent's live connection to the controller: an HTTP Upgrade on the control server (token in
 * the Authorization header, checked before the switch), then newline-delimited JSON.
 */
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import {
  AGENT_UPGRADE,
  encodeMessage,
  parseControllerMessage,
  type AgentMessage,
  type ControllerMessage,
} from '../protocol/agent.js';
import { LineDecoder, splitAddress } from '../protocol/wire.js';
import { ClusterFormError } from '../core/errors.js';
import { JOIN_TIMEOUT_ENV } from '../core/env-names.js';

export interface Channel {
  send(m: AgentMessage): void;
  onMessage(fn: (m: ControllerMessage) => void): void;
  /** Resolves when the connection is gone (controller exited, node cut off, or close()). */
  closed: Promise<void>;
  close(): void;
}

class ChannelRefused extends Error {}

/** How long to wait for the controller's answer: the job's --join-timeout (what the user allowed for a node to join). */
export function connectTimeoutMs(env: NodeJS.ProcessEnv): number {
  const sec = Number(env[JOIN_TIMEOUT_ENV]);
  return Number.isFinite(sec) && sec > 0 ? Math.min(sec * 1000, 2 ** 31 - 1) : 120_000;
}

/**
 * The controller did not answer in time: a machine too busy
 * to run it (e.g. hundreds of simulated nodes starting at once on a few cores), not a bug.
 */
function noAnswer(controller: string, timeoutMs: number): ClusterFormError {
  return new ClusterFormError(
    `no answer from the controller at ${controller} within ${(timeoutMs / 1000).toFixed(1)} s`,
    {
      hint: 'the machine running the controller is overloaded; use fewer nodes or raise --join-timeout',
    },
  );
}

export function openChannel(controller: string, token: string, timeoutMs = 120_000): Promise<Channel> {
  const { host, port } = splitAddress(controller);
  return new Promise((resolve, reject) => {
    const req = request({
      host,
      port,
      path: '/v1/agent',
      method: 'GET',
      headers: { Connection: 'Upgrade', Upgrade: AGENT_UPGRADE, Authorization: `Bearer ${token}` },
      timeout: timeoutMs,
    });
    req.on('timeout', () => req.destroy(noAnswer(controller, timeoutMs)));
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      reject(
        new ChannelRefused(
          `the controller at ${controller} answered ${res.statusCode} instead of switching protocols${res.statusCode === 401 ? ' (wrong or missing token)' : ''}`,
        ),
      );
    });
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      socket.setNoDelay(true);
      socket.setTimeout(0);
      const decoder = new LineDecoder();
      const text = new StringDecoder('utf8');
      const listeners: Array<(m: ControllerMessage) => void> = [];
      const backlog: ControllerMessage[] = [];
      const deliver = (text: string) => {
        for (const raw of decoder.push(text)) {
          const m = parseControllerMessage(raw);
          if (listeners.length === 0) backlog.push(m);
          else for (const l of listeners) l(m);
        }
      };
      if (head.length > 0) deliver(text.write(head));
      socket.on('data', (chunk: Buffer) => deliver(text.write(chunk)));
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.on('error', () => socket.destroy());
      resolve({
        send: (m) => {
          if (!socket.destroyed) socket.write(encodeMessage(m));
        },
        onMessage: (fn) => {
          listeners.push(fn);
          for (const m of backlog.splice(0)) fn(m);
        },
        closed,
        close: () => socket.end(),
      });
    });
    req.end();
  });
}
