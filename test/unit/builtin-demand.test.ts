// The builtin runtime's controller half as autoscaling reads it (--max-nodes): its waiting work,
// its nodes' use and the job's shape (the first worker to join, else the head).
import { describe, expect, it } from 'vitest';
import { builtinRuntime } from '../../src/runtimes/builtin/index.js';
import type { ControllerHalf, JoinedNode } from '../../src/runtimes/types.js';

const layout = { size: 64, ports: { controller: 0 }, ranges: { service: { offset: 16, count: 32 } } };
function half(maxNodes?: number): ControllerHalf {
  return builtinRuntime.controllerHalf!({
    jobId: 'j',
    log: () => {},
    send: () => true,
    layout,
    portBase: () => 20000,
    ...(maxNodes !== undefined ? { maxNodes } : {}),
  });
}
const joined = (name: string, role: 'head' | 'worker', cpus: number, gpus = 0): JoinedNode => ({
  name,
  role,
  address: `10.0.0.${name.slice(-1)}`,
  hostname: name,
  cpus,
  gpus,
  gpuIds: Array.from({ length: gpus }, (_, i) => String(i)),
  memoryMb: 1000,
});

describe('builtin controller half: demand()', () => {
  it('shape: the head until a worker joins, then the first worker (satellites join later)', async () => {
    const h = half(4);
    expect(h.demand!().shape).toBeUndefined();
    h.onJoin(joined('n1', 'head', 2));
    expect(h.demand!().shape).toEqual({ CPU: 2, memoryMb: 1000 });
    h.onJoin(joined('n2', 'worker', 8, 2));
    h.onJoin(joined('n3', 'worker', 16, 4));
    expect(h.demand!().shape).toEqual({ CPU: 8, GPU: 2, memoryMb: 1000 });
    expect(h.demand!()).toMatchObject({
      pending: [],
      nodes: [
        { name: 'n1', idle: true },
        { name: 'n2', idle: true },
        { name: 'n3', idle: true },
      ],
    });
    await h.close();
  });

  it('without --max-nodes the half still answers, with no growth: the scheduler refuses what does not fit now', async () => {
    const h = half();
    h.onJoin(joined('n1', 'head', 2));
    expect(h.demand!().shape).toBeUndefined();
    await h.close();
  });
});
