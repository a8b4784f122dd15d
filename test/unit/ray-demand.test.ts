// Ray's pending demand as raysl's reader prints it (recorded from a real Ray 2.60 head with token
// auth: test/fixtures/ray/README.md), turned into what the autoscaling policy reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { autoscale } from '../../src/core/autoscale.js';
import { fromRayResources, parseRayDemand, type RayDemandLine } from '../../src/runtimes/ray/demand.js';

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(join(__dirname, '../fixtures/ray', name), 'utf8')
      .trim()
      .split('\n')[0]!,
  ) as RayDemandLine;

describe("Ray's demand (GetClusterResourceState, Ray 2.60)", () => {
  it('busy head: each waiting task once (count 2 -> two items), both groups with their strategy, the node without its markers', () => {
    const d = parseRayDemand(fixture('demand-busy-2.60.0.jsonl'));
    expect(d.pending.map((p) => [p.bundles, p.placement])).toEqual([
      [[{ CPU: 1, trainer: 1 }], 'any'],
      [[{ CPU: 2 }], 'any'],
      [[{ CPU: 2 }], 'any'],
      [[{ CPU: 8 }], 'any'],
      [[{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }], 'spread'],
      [[{ CPU: 1 }, { CPU: 2 }], 'pack'],
    ]);
    expect(new Set(d.pending.map((p) => p.id)).size).toBe(6);
    expect(d.pending[4]!.what).toMatch(/^Ray placement group 5634a5cf9b70 \(3 bundles, STRICT_SPREAD\)$/);
    expect(d.nodes).toHaveLength(1);
    expect(d.nodes[0]).toMatchObject({ address: '192.0.2.2', idleMs: 0, total: { CPU: 2, memoryMb: 16180 } });
    expect(Object.keys(d.nodes[0]!.free).sort()).toEqual(['memoryMb']);
  });

  it('idle head: nothing waits, and Ray says how long the node has been idle', () => {
    const d = parseRayDemand(fixture('demand-idle-2.60.0.jsonl'));
    expect(d.pending).toEqual([]);
    expect(d.nodes[0]).toMatchObject({ idleMs: 25655, free: { CPU: 2 } });
  });

  it('the policy on the busy head (shape: 2 CPUs per node, up to 4 nodes): grows for the tasks and groups a node can hold, never for the 8-CPU task or the custom resource no node has', () => {
    const d = parseRayDemand(fixture('demand-busy-2.60.0.jsonl'));
    const ds = autoscale({
      pending: d.pending.map((p) => ({ ...p, waitedMs: 60_000 })),
      shape: { CPU: 2, memoryMb: 16180 },
      nodes: d.nodes.map((n) => ({ name: n.address, free: n.free, idleMs: n.idleMs })),
      satellites: [],
      limits: { maxNodes: 4, idleTimeoutMs: 60_000, scaleUpDelayMs: 10_000 },
    });
    expect(ds.filter((x) => x.kind === 'grow').map((x) => (x.kind === 'grow' ? x.nodes : 0))).toEqual([3]);
    expect(
      ds
        .filter((x) => x.kind === 'wait')
        .map((x) => x.reason)
        .join('\n'),
    ).toMatch(/Ray task \{CPU=1,trainer=1\}|Ray task \{CPU=8\}/);
  });

  it('a request pinned to a node (node:<ip>) is not demand more nodes could serve; node markers leave a node', () => {
    expect(fromRayResources({ CPU: 1, 'node:10.0.0.1': 0.001 }, true)).toBeUndefined();
    expect(
      fromRayResources({ CPU: 1, 'node:10.0.0.1': 1, object_store_memory: 5, memory: 3 * 1024 * 1024 }, false),
    ).toEqual({ CPU: 1, memoryMb: 3 });
  });
});
