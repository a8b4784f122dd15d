/**
 * Two services and a client: each service is a small HTTP server on its own port from the job's
 * block ($RAYSL_SERVICE_PORT, on its node's address $RAYSL_NODE_ADDRESS), holding half a GPU
 * when the cluster has GPUs; a task elsewhere in the cluster calls both, then both are stopped.
 *   raysl run --local -N 4 examples/serve.ts          (add --gpus-per-node 1 for the GPU share)
 */
import { connect, type Service } from 'raysl';

const cluster = await connect();
const gpus = (await cluster.resources()).gpus > 0 ? 0.5 : 0;

// A model server stand-in: answers every request with who it is and what it sees.
const server = `
const http = require('node:http');
const [name] = process.argv.slice(1);
const who = { name, node: process.env.RAYSL_NODE, gpus: process.env.CUDA_VISIBLE_DEVICES || '' };
http.createServer((req, res) => res.end(JSON.stringify({ ...who, path: req.url }) + '\\n'))
  .listen(Number(process.env.RAYSL_SERVICE_PORT), process.env.RAYSL_NODE_ADDRESS, () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

/** Starts one service and waits for its "listening" line: ready is an event, not a guess. */
async function start(name: string): Promise<Service> {
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  const s = await cluster.spawn(['node', '-e', server, name], {
    gpus,
    cpus: 0.5,
    onOutput: (d) => d.includes('listening') && ready(),
  });
  await Promise.race([
    listening,
    s.exited.then((r) =>
      Promise.reject(new Error(`${name} exited (${r.exitCode}) before it listened: ${r.stderr.trim()}`)),
    ),
  ]);
  console.log(
    `${name}: ${s.url} on ${s.node}${s.gpuIds.length > 0 ? ` (GPU ${s.gpuIds.join(',')}, ${gpus} of it)` : ''}`,
  );
  return s;
}

const services = await Promise.all([start('embedder'), start('reranker')]);
try {
  // The client is a task of its own, on another node where there is one: it reaches the services
  // over the network, at the addresses and ports spawn() reported.
  const elsewhere = (await cluster.nodes()).find((n) => !services.some((s) => s.node === n.name));
  const call = `Promise.all(process.argv.slice(1).map((u) => fetch(u + '/query?q=1').then((r) => r.text()))).then((a) => console.log(a.join('').trim()))`;
  const r = await cluster.run(
    ['node', '-e', call, ...services.map((s) => s.url!)],
    elsewhere ? { node: elsewhere.name } : {},
  );
  console.log(`client task on ${r.node} got:\n${r.stdout.trim()}`);
  const answers = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; node: string });
  const names = answers.map((a) => a.name).sort();
  if (r.exitCode !== 0 || names.join(',') !== 'embedder,reranker') {
    console.error(
      `serve: expected answers from embedder and reranker, got ${JSON.stringify(names)} (exit ${r.exitCode}): ${r.stderr.trim()}`,
    );
    process.exitCode = 1;
  }
} finally {
  for (const s of services) {
    const end = await s.stop(2000);
    console.log(`stopped ${s.id} on ${s.node}: ${end.signal ?? `exit ${end.exitCode}`}`);
  }
  cluster.close();
}
