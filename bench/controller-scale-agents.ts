// One process of simulated agents for controller-scale.bench.ts: opens one real agent channel per
// node it is given (src/agent/channel.ts: HTTP upgrade with the job's token), then speaks the agent
// protocol like a real agent: hello -> welcome -> probed (a clean probe, nothing bound) -> start ->
// ready; `probe` is answered like welcome, `stop` closes the channel. Prints one JSON line at exit.
import { openChannel, type Channel } from '../src/agent/channel.js';
import { AGENT_PROTOCOL, type ControllerMessage } from '../src/protocol/agent.js';

const [controller, spec] = process.argv.slice(2);
const token = process.env.RAYSL_TOKEN ?? '';
const nodes = JSON.parse(spec ?? '[]') as Array<{ node: string; role: 'head' | 'worker'; address: string }>;
let firstConnect = Infinity;
let lastConnect = 0;
let started = 0;
const errors: string[] = [];

async function one(t: { node: string; role: 'head' | 'worker'; address: string }): Promise<void> {
  let ch: Channel;
  try {
    ch = await openChannel(controller as string, token, 30_000);
  } catch (err) {
    errors.push(`${t.node}: ${(err as Error).message}`);
    return;
  }
  const now = Date.now();
  firstConnect = Math.min(firstConnect, now);
  lastConnect = Math.max(lastConnect, now);
  ch.onMessage((m: ControllerMessage) => {
    if (m.t === 'welcome' || m.t === 'probe') ch.send({ t: 'probed', round: m.round, portBase: m.portBase, taken: [] });
    else if (m.t === 'start') {
      started++;
      ch.send({
        t: 'ready',
        node: { name: t.node, role: t.role, address: t.address, hostname: t.node, cpus: 1, gpus: 0, gpuIds: [] },
      });
    } else if (m.t === 'stop') ch.close();
    else if (m.t === 'refuse') errors.push(`${t.node}: refused: ${m.reason}`);
  });
  ch.send({
    t: 'hello',
    v: AGENT_PROTOCOL,
    node: t.node,
    role: t.role,
    pid: process.pid,
    hostname: t.node,
    granted: { gpuIds: [] },
  });
  await ch.closed;
}

await Promise.all(nodes.map(one));
process.stdout.write(
  JSON.stringify({
    agents: nodes.length,
    started,
    firstConnect,
    lastConnect,
    errors: errors.slice(0, 5),
    errorCount: errors.length,
  }) + '\n',
);
