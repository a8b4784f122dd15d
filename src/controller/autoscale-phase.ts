/**
 * The autoscaler as a phase of the job (--max-nodes): started once the cluster formed, with the
 * runtime's demand (the builtin controller half's scheduler, or Ray's reader on this node), and
 * pushed on the teardown stack after the elastic's own step, so it stops before the satellites are
 * cancelled.
 */
import { withPhase } from '../core/status.js';
import type { StatusFile } from '../jobdir/status-file.js';
import type { DemandReader } from '../runtimes/types.js';
import { Autoscaler } from './autoscaler.js';
import type { Cluster } from './form.js';
import type { Job } from './job.js';

/** `env`: the entrypoint's environment (the runtime's address and auth, for Ray's reader). */
export function startAutoscalePhase(job: Job, cluster: Cluster, env: NodeJS.ProcessEnv, status: StatusFile): void {
  const { plan, log, edges, head } = job;
  if (!plan.autoscale) return;
  const { elastic, agents, half } = cluster;
  const satelliteNodes = () => new Set(elastic.satellites().flatMap((s) => [...s.nodes, ...s.joined]));
  const reader: DemandReader | undefined = half?.demand
    ? { read: () => half.demand!(), close: async () => {} }
    : job.runtime.demandReader?.({
        env,
        nodeOf: (address) => agents.joinedNodes().find((n) => n.address === address)?.name,
        // the job's shape: a worker of the allocation, else the head
        shapeAddress: () => {
          const mine = agents.joinedNodes().filter((n) => !satelliteNodes().has(n.name));
          return (mine.find((n) => n.role === 'worker') ?? mine.find((n) => n.name === head) ?? mine[0])?.address;
        },
        log,
      });
  if (!reader) {
    log(`autoscale: the ${plan.runtime} runtime does not say what waits: --max-nodes is ignored`);
    return;
  }
  const { maxNodes, idleTimeoutSec, scaleUpDelaySec } = plan.autoscale;
  const scaler = new Autoscaler({
    limits: { maxNodes, idleTimeoutMs: idleTimeoutSec * 1000, scaleUpDelayMs: scaleUpDelaySec * 1000 },
    elastic,
    read: () => reader.read(),
    members: () => agents.joinedNodes().map((n) => n.name),
    now: edges.now,
    record: (detail) => {
      log(`autoscale: ${detail}`);
      status.update((s) => withPhase(s, edges.now(), { phase: 'autoscale', detail }));
    },
    log,
  });
  scaler.start();
  log(
    `autoscale: up to ${maxNodes} nodes; grow for work waiting ${scaleUpDelaySec} s, shrink satellites idle ${idleTimeoutSec} s`,
  );
  job.teardown.push({
    name: 'autoscaler',
    run: async () => {
      await scaler.stop();
      await reader.close();
    },
  });
}
