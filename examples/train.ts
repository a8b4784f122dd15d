/**
 * A first raysl entrypoint: connect to the job's cluster, show what it has, run one probe per
 * node, print a table. Run it with:  raysl run --local -N 4 examples/train.ts
 * `--fail-with <code>` exits with that code (handy to see exit codes travel through raysl).
 */
import { connect } from 'raysl';

const args = process.argv.slice(2);
const failAt = args.indexOf('--fail-with');
const failWith = failAt === -1 ? 0 : Number(args[failAt + 1]);

const cluster = await connect();
const total = await cluster.resources();
console.log(
  `job ${cluster.info.jobId}: ${total.nodes} nodes, ${total.cpus} CPUs, ${total.gpus} GPUs (runtime ${cluster.info.runtime})`,
);

// One probe per node, all at once: what each node's processes see. A task sees the GPUs it
// holds (CUDA_VISIBLE_DEVICES), so each probe asks for all of its node's.
const nodes = await cluster.nodes();
const probe = ['sh', '-c', 'echo "$(hostname) ${CUDA_VISIBLE_DEVICES:-none} $RAYSL_NODE ${RAYSL_APP_PORTS:-none}"'];
const results = await Promise.all(nodes.map((n) => cluster.run(n.name, probe, { gpus: n.gpus })));

const rows = nodes.map((n, i) => {
  const r = results[i]!;
  const [host = '?', gpus = '?', seenAs = '?', appPorts = '?'] = r.stdout.trim().split(/\s+/);
  return [n.name, n.role, n.address, String(n.cpus), gpus, host, seenAs, appPorts, String(r.exitCode)];
});
const header = ['node', 'role', 'address', 'cpus', 'gpus seen', 'hostname', 'RAYSL_NODE', 'app ports', 'exit'];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
for (const row of [header, ...rows]) console.log(row.map((v, c) => v.padEnd(widths[c]!)).join('  '));

// Rendezvous through the key-value store: what a training script does to share a master address.
// The port comes from the job's own block (RAYSL_APP_PORTS, the same on every node), never a
// fixed 29500 that two jobs on one node would both want.
const masterPort = Number((process.env.RAYSL_APP_PORTS ?? '').split('-')[0]);
if (!Number.isInteger(masterPort) || masterPort <= 0)
  throw new Error(`RAYSL_APP_PORTS is not set (${process.env.RAYSL_APP_PORTS}): run me with raysl`);
await cluster.kv.put('master', `${nodes[0]?.address}:${masterPort}`);
console.log(`kv master = ${await cluster.kv.get('master')}`);

cluster.close();
if (failWith !== 0) {
  console.error(`exiting with ${failWith} as asked (--fail-with)`);
  process.exit(failWith);
}
