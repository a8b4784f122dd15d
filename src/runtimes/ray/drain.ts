/**
 * Shrink under Ray: the node is drained through Ray's own API, the GCS's DrainNode RPC, as Ray's
 * autoscaler v2 does (Ray 2.60: `GcsClient.drain_node`, the call behind the hidden
 * `ray drain-node` CLI in python/ray/scripts/scripts.py; the reason PREEMPTION is never rejected,
 * IDLE_TERMINATION is refused on a busy node). A draining node gets no new tasks or actors; Ray's
 * raylet exits once the node is idle (seen on the test cluster: its GCS entry turns DEAD). The
 * node's id is found by its address and node-manager port in GCS's node table (`ray drain-node`
 * without --node-id would start a driver to learn it).
 */
import { spawn } from 'node:child_process';
import { exitOf } from '../../proc/terminate.js';
import { rayInterpreter, rayBin } from './bin.js';
import type { PreparedRayNode } from './prepare.js';

/**
 * Python run by Ray's own interpreter: argv gcs address, node ip, node-manager port, deadline s,
 * message. Drains the node, then waits (GCS's node table, polled with backoff to 1 s: Ray pushes
 * no event a process outside the cluster can take) until the raylet left, which it does once the
 * node is idle; `ray start --block` does not notice a raylet that exits cleanly, so the agent stops
 * it then. Exit 0 once left, 5 when still busy at the deadline.
 */
const DRAIN_SCRIPT = `import sys, time
from ray._raylet import GcsClient
from ray.core.generated import autoscaler_pb2, gcs_pb2
addr, ip, port, deadline, msg = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
gcs = GcsClient(address=addr)
def me():
    for nid, info in gcs.get_all_node_info(timeout=30).items():
        if info.node_manager_address == ip and info.node_manager_port == port and info.state == gcs_pb2.GcsNodeInfo.ALIVE:
            return nid
nid = me()
if nid is None:
    print(f"no live Ray node at {ip}:{port} in GCS")
    sys.exit(4)
end = time.time() + deadline
ok, err = gcs.drain_node(nid.hex(), autoscaler_pb2.DrainNodeReason.Value("DRAIN_NODE_REASON_PREEMPTION"), msg, int(end * 1000))
if not ok:
    print(f"node {nid.hex()} not drained: {err}")
    sys.exit(3)
print(f"node {nid.hex()} draining", flush=True)
step = 0.1
while time.time() < end:
    if me() is None:
        print(f"node {nid.hex()} idle: its raylet left")
        sys.exit(0)
    time.sleep(step)
    step = min(step * 2, 1.0)
print(f"node {nid.hex()} still busy at the deadline")
sys.exit(5)
`;

/** The GCS address a worker joined (its --address), or the head's own. */
function gcsAddressOf(node: PreparedRayNode): string {
  const given = node.rayArgv.find((a) => a.startsWith('--address='));
  return given !== undefined ? given.slice('--address='.length) : `${node.nodeIp}:${node.ports.gcs}`;
}

function drainArgv(node: PreparedRayNode, deadlineSec: number, reason: string): string[] {
  return [
    '-c',
    DRAIN_SCRIPT,
    gcsAddressOf(node),
    node.nodeIp,
    String(node.ports.node_manager),
    String(deadlineSec),
    reason,
  ];
}

/** Drains this node; resolves once its raylet left (idle), rejects when Ray refused, could not be asked, or the deadline passed. */
export async function drainRayNode(node: PreparedRayNode, deadlineSec: number, reason: string): Promise<string> {
  const python = node.boot.python ?? rayInterpreter(rayBin(node.env), node.env);
  if (python === undefined)
    throw new Error(`cannot find the Python of Ray's CLI (${rayBin(node.env)}) to drain this node`);
  const child = spawn(python, drainArgv(node, deadlineSec, reason), {
    env: node.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), (deadlineSec + 60) * 1000);
  const exit = await exitOf(child);
  clearTimeout(timer);
  const said = out.trim().split('\n').slice(-3).join(' / ');
  if (exit.code !== 0) throw new Error(`Ray's DrainNode failed (${exit.signal ?? `exit ${exit.code}`}): ${said}`);
  return said;
}
