/**
 * An agent whose controller is alive but too busy to answer (hundreds of simulated nodes starting
 * on two cores) gets an honest error after the job's --join-timeout, never "a bug in raysl".
 */
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTimeoutMs, openChannel } from '../../src/agent/channel.js';
import { ClusterFormError, ExitCode } from '../../src/core/errors.js';
import { JOIN_TIMEOUT_ENV } from '../../src/core/env-names.js';

const open: Array<() => void> = [];
afterEach(() => open.splice(0).forEach((f) => f()));

describe('agent channel deadline', () => {
  it('waits as long as the join timeout, bounded for timers', () => {
    expect(connectTimeoutMs({ [JOIN_TIMEOUT_ENV]: '300' })).toBe(300_000);
    expect(connectTimeoutMs({ [JOIN_TIMEOUT_ENV]: String(30 * 86400) })).toBe(2 ** 31 - 1);
    expect(connectTimeoutMs({})).toBe(120_000);
    expect(connectTimeoutMs({ [JOIN_TIMEOUT_ENV]: 'x' })).toBe(120_000);
  });

  it('a controller that accepts but never answers is a cluster-form error that says why', async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => void sockets.push(s)); // accepts, reads, never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    open.push(() => {
      sockets.forEach((s) => s.destroy());
      server.close();
    });
    const { port } = server.address() as { port: number };
    const err = await openChannel(`127.0.0.1:${port}`, 'token', 200).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClusterFormError);
    expect((err as ClusterFormError).exitCode).toBe(ExitCode.clusterDidNotForm);
    expect((err as ClusterFormError).message).toMatch(
      /no answer from the controller at 127\.0\.0\.1:\d+ within 0\.2 s/,
    );
    expect((err as ClusterFormError).hint).toMatch(/overloaded.*--join-timeout/);
    expect((err as ClusterFormError).hint).not.toMatch(/bug/);
  });
});
