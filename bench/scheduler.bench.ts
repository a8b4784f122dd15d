/**
 * What admission costs the builtin runtime's scheduler (src/core/scheduler), against a baseline in the
 * same run: a naive queue that rescans every pending task in order on each release.
 *  - submit of 10,000 tasks onto a full 4-node cluster (all pending);
 *  - one release with 10,000 identical tasks pending (one gets placed): the shape buckets make it O(1);
 *  - the same with the 10,000 pending spread over 100 shapes (worst case for the buckets: O(shapes));
 *  - 1,000 tasks placed and released on an empty cluster.
 */
import { Scheduler, type NodeCapacity } from '../src/core/scheduler/index.js';
import { timeSync, writeResult } from './lib.js';

const PENDING = 10_000;
const nodes: NodeCapacity[] = Array.from({ length: 4 }, (_, i) => ({
  name: `n${i}`,
  cpus: 8,
  gpuIds: ['0', '1', '2', '3'],
  memoryMb: 64_000,
}));

function fullCluster(): Scheduler {
  const s = new Scheduler();
  for (const n of nodes) s.addNode(n);
  for (let i = 0; i < 32; i++)
    if (s.submit(`run${i}`, { cpus: 1 }).status !== 'placed') throw new Error('could not fill the cluster');
  return s;
}

// submit 10,000 onto the full cluster
let s = fullCluster();
const t0 = performance.now();
for (let i = 0; i < PENDING; i++) s.submit(`p${i}`, { cpus: 1 });
const submitMs = performance.now() - t0;
if (s.pendingCount() !== PENDING) throw new Error(`expected ${PENDING} pending, got ${s.pendingCount()}`);

/** Each sample: release one running task, the oldest pending takes its place (checked). */
function releaseCost(sched: Scheduler, label: string) {
  let running = 0;
  const ids = Array.from({ length: 32 }, (_, i) => `run${i}`);
  return timeSync(
    () => {
      const id = ids[running++ % ids.length]!;
      const d = sched.release(id);
      const placed = d[0];
      if (d.length !== 1 || placed?.kind !== 'placed')
        throw new Error(`${label}: expected one placement, got ${JSON.stringify(d)}`);
      ids[(running - 1) % ids.length] = placed.id;
    },
    500,
    20,
  );
}
const releaseIdentical = releaseCost(s, 'identical');

// 10,000 pending over 100 shapes (memory differs), all of them fit when one CPU frees
s = fullCluster();
for (let i = 0; i < PENDING; i++) s.submit(`p${i}`, { cpus: 1, memoryMb: i % 100 });
const releaseHundredShapes = releaseCost(s, '100 shapes');

// baseline: a naive in-order queue, rescanned from the front on every release
function naiveRelease(pending: Array<{ cpus: number }>, free: { cpus: number }): void {
  for (let i = 0; i < pending.length; i++) {
    if (pending[i]!.cpus <= free.cpus) {
      free.cpus -= pending[i]!.cpus;
      pending.splice(i, 1);
      i--;
    }
  }
}
const naivePending = Array.from({ length: PENDING }, () => ({ cpus: 2 })); // none fits one freed CPU: a full scan each time
const baselineNaiveRescan = timeSync(() => naiveRelease(naivePending, { cpus: 1 }), 500, 20);

// 1,000 placed and released on an empty cluster
const churn = timeSync(
  () => {
    const c = new Scheduler();
    for (const n of nodes) c.addNode({ ...n, cpus: 1000 });
    for (let i = 0; i < 1000; i++)
      if (c.submit(`t${i}`, { cpus: 1, gpus: 0.01 }).status !== 'placed') throw new Error('not placed');
    for (let i = 0; i < 1000; i++) c.release(`t${i}`);
    if (c.pendingCount() !== 0) throw new Error('left pending');
  },
  20,
  3,
);

writeResult('scheduler', {
  nodes: nodes.length,
  pending: PENDING,
  submit10kPendingMs: Math.round(submitMs * 1000) / 1000,
  submitPerTaskUs: Math.round((submitMs / PENDING) * 1e6) / 1000,
  releaseWith10kPendingIdentical: releaseIdentical,
  releaseWith10kPendingOver100Shapes: releaseHundredShapes,
  baselineNaiveRescanOf10kPending: baselineNaiveRescan,
  place1000AndRelease1000: churn,
});
