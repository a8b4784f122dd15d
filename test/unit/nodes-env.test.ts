import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { MAX_NODES_ENV, nodesEnv } from '../../src/controller/nodes-env.js';
import type { NodeInfo } from '../../src/protocol/agent.js';

const node = (i: number): NodeInfo => ({
  name: `node${i}`,
  role: i === 0 ? 'head' : 'worker',
  address: `10.0.${i >> 8}.${i & 255}`,
  hostname: `node${i}`,
  cpus: 64,
  gpus: 8,
  gpuIds: ['0', '1', '2', '3', '4', '5', '6', '7'],
});

describe('RAYSL_NODES for the entrypoint', () => {
  it('carries the nodes inline for a small job, and the file always', () => {
    const { env, tooLong } = nodesEnv([node(0), node(1)], '/j/nodes.json');
    expect(tooLong).toBe(false);
    expect(JSON.parse(env.RAYSL_NODES as string)).toHaveLength(2);
    expect(env.RAYSL_NODES_FILE).toBe('/j/nodes.json');
  });

  it('a 4,096-node job still execs its entrypoint (the inline JSON alone would be E2BIG)', () => {
    const nodes = Array.from({ length: 4096 }, (_, i) => node(i));
    const inline = spawnSync('/bin/true', { env: { RAYSL_NODES: JSON.stringify(nodes) } });
    expect((inline.error as NodeJS.ErrnoException | undefined)?.code).toBe('E2BIG');
    const { env, json, tooLong } = nodesEnv(nodes, '/j/nodes.json');
    expect(tooLong).toBe(true);
    expect(Buffer.byteLength(json)).toBeGreaterThan(MAX_NODES_ENV);
    expect(env.RAYSL_NODES).toBeUndefined();
    expect(spawnSync('/bin/true', { env }).status).toBe(0);
  });
});
