/**
 * GPU probe: one task per GPU over the whole cluster (`gpus: 1` each, one per bundle of a placement
 * group holding every GPU); every task prints its hostname and CUDA_VISIBLE_DEVICES, then a table.
 * Exits 1 unless every GPU of every node was handed out exactly once: the check a new cluster
 * deserves before a long job trusts it.
 *   raysl run --local -N 4 --gpus-per-node 2 examples/probe.ts
 */
import { connect } from 'raysl';

const cluster = await connect();
const nodes = await cluster.nodes();
const total = nodes.reduce((n, node) => n + node.gpuIds.length, 0);
if (total === 0) {
  console.error('probe: this cluster has no GPUs (under --local, give it some: --gpus-per-node 2)');
  process.exit(1);
}
console.log(`probing ${total} GPUs on ${nodes.length} nodes, one task each`);

// One bundle per GPU, reserved together (a probe finishes in milliseconds: without the
// reservation a later task could reuse a device an earlier one just gave back, and some GPU would
// go unprobed). cpus: 0 so a node with more GPUs than CPUs still holds one bundle per GPU.
const probe = ['sh', '-c', 'echo "$(hostname) $RAYSL_NODE ${CUDA_VISIBLE_DEVICES:-none}"'];
const pg = cluster.placementGroup(
  Array.from({ length: total }, () => ({ gpus: 1, cpus: 0 })),
  { strategy: 'SPREAD' },
);
await pg.ready({ timeoutMs: 60_000 });
const results = await Promise.all(
  Array.from({ length: total }, (_, i) => cluster.run(probe, { gpus: 1, cpus: 0, placementGroup: pg, bundle: i })),
);
await pg.remove();

const rows = results.map((r) => {
  const [host = '?', seenAs = '?', visible = '?'] = r.stdout.trim().split(/\s+/);
  return { node: r.node, granted: r.gpuIds.join(','), visible, host, seenAs, exit: r.exitCode };
});
rows.sort((a, b) => a.node.localeCompare(b.node) || a.granted.localeCompare(b.granted));
const header = ['node', 'granted', 'CUDA_VISIBLE_DEVICES', 'hostname', 'RAYSL_NODE', 'exit'];
const cells = rows.map((r) => [r.node, r.granted, r.visible, r.host, r.seenAs, String(r.exit)]);
const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
for (const row of [header, ...cells]) console.log(row.map((v, c) => v.padEnd(widths[c]!)).join('  '));

// Every (node, GPU id) exactly once, and each task saw exactly the device it was granted.
const problems: string[] = [];
const used = new Map<string, number>();
for (const r of rows) {
  const key = `${r.node}/${r.granted}`;
  used.set(key, (used.get(key) ?? 0) + 1);
  if (r.exit !== 0) problems.push(`the task on ${key} exited ${r.exit}`);
  if (r.visible !== r.granted)
    problems.push(`the task on ${r.node} was granted GPU ${r.granted} but saw CUDA_VISIBLE_DEVICES=${r.visible}`);
  if (r.seenAs !== r.node) problems.push(`the task placed on ${r.node} ran as ${r.seenAs}`);
}
for (const node of nodes) {
  for (const id of node.gpuIds) {
    const n = used.get(`${node.name}/${id}`) ?? 0;
    if (n !== 1) problems.push(`GPU ${id} of ${node.name} was used ${n} times`);
  }
}
cluster.close();
if (problems.length > 0) {
  for (const p of problems) console.error(`probe: ${p}`);
  process.exit(1);
}
console.log(`probe: all ${total} GPUs used exactly once`);
