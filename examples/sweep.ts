/**
 * A fractional-GPU sweep inside a placement group: PACK bundles of { gpus: 1, cpus: 1 } reserve
 * whole devices, then two trials of 0.5 GPU share each device at once (one per learning rate),
 * as Ray runs `num_gpus=0.5` tasks. Prints a results table, and exits 1 if any device was ever
 * held for more than 1.0 GPU (the accounting the scheduler promises).
 *   raysl run --local -N 4 --gpus-per-node 2 examples/sweep.ts
 */
import { connect, type TaskResult } from 'raysl';

const cluster = await connect();
const totalGpus = (await cluster.resources()).gpus;
if (totalGpus < 1) {
  console.error('sweep: this cluster has no GPUs (under --local, give it some: --gpus-per-node 2)');
  process.exit(1);
}
const bundles = Math.min(4, Math.floor(totalGpus));
const pg = cluster.placementGroup(
  Array.from({ length: bundles }, () => ({ gpus: 1, cpus: 1 })),
  { strategy: 'PACK' },
);
const group = await pg.ready({ timeoutMs: 60_000 });
console.log(
  `placement group ${group.id} (PACK): ${(group.bundles ?? []).map((b, i) => `bundle ${i} on ${b.node} GPU ${b.gpuIds.join(',')}`).join('; ')}`,
);

// A stand-in trial: a second of "training" whose loss depends on the learning rate.
const trial = [
  'python3',
  '-c',
  "import sys, time, math, os; lr = float(sys.argv[1]); time.sleep(1); print(f\"{abs(math.log10(lr) + 3) + 0.1:.4f} {os.environ.get('CUDA_VISIBLE_DEVICES', '')}\")",
];
const lrs = Array.from({ length: bundles * 2 }, (_, i) => 10 ** (-5 + (4 * i) / (bundles * 2 - 1)));
const results = await Promise.all(
  lrs.map((lr, i) =>
    cluster.run([...trial, String(lr)], { gpus: 0.5, cpus: 0.5, placementGroup: pg, bundle: Math.floor(i / 2) }),
  ),
);
await pg.remove();

// When each trial ran (ms after the first started): shows the two trials of a device overlapping.
const t0 = Math.min(...results.map((r) => r.startedAt));
const header = ['lr', 'bundle', 'node', 'GPU', 'CUDA_VISIBLE_DEVICES', 'loss', 'exit', 'ran (ms)'];
const rows = results.map((r, i) => {
  const [loss = '?', visible = ''] = r.stdout.trim().split(/\s+/);
  return [
    lrs[i]!.toExponential(1),
    String(Math.floor(i / 2)),
    r.node,
    r.gpuIds.join(','),
    visible || '(none)',
    loss,
    String(r.exitCode),
    `${r.startedAt - t0}-${r.endedAt - t0}`,
  ];
});
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
for (const row of [header, ...rows]) console.log(row.map((v, c) => v.padEnd(widths[c]!)).join('  '));
const best = rows.reduce((a, b) => (Number(b[5]) < Number(a[5]) ? b : a));
console.log(`best lr ${best[0]} (loss ${best[5]})`);

// The most any device held at once, from when each trial ran: 0.5 per trial on its device.
const peak = peakPerDevice(results, 0.5);
console.log(`peak GPU held per device: ${[...peak].map(([d, v]) => `${d}=${v}`).join(' ')}`);
cluster.close();
const over = [...peak].filter(([, v]) => v > 1.0 + 1e-9);
const failed = results.filter((r) => r.exitCode !== 0);
if (over.length > 0 || failed.length > 0) {
  for (const [d, v] of over) console.error(`sweep: device ${d} held ${v} GPU at once (more than 1.0)`);
  for (const r of failed)
    console.error(`sweep: trial ${r.id} on ${r.node} exited ${r.exitCode}: ${r.stderr.trim().slice(-200)}`);
  process.exit(1);
}

function peakPerDevice(rs: TaskResult[], share: number): Map<string, number> {
  const edges = rs.flatMap((r) =>
    r.gpuIds.flatMap((g) => [
      { d: `${r.node}/${g}`, t: r.startedAt, v: share },
      { d: `${r.node}/${g}`, t: r.endedAt, v: -share },
    ]),
  );
  edges.sort((a, b) => a.t - b.t || a.v - b.v); // an end and a start at the same ms do not overlap
  const held = new Map<string, number>();
  const peak = new Map<string, number>();
  for (const e of edges) {
    const now = (held.get(e.d) ?? 0) + e.v;
    held.set(e.d, now);
    peak.set(e.d, Math.max(peak.get(e.d) ?? 0, now));
  }
  return new Map([...peak].sort(([a], [b]) => a.localeCompare(b)));
}
