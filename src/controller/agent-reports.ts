/**
 * What the agents' events mean for the log and status.json, and a lost node for the job: without
 * --continue-on-node-loss it stops the job.
 */
import { withNode, withPhase } from '../core/status.js';
import type { AgentRegistry } from './agents.js';
import type { Job } from './job.js';
import type { StatusFile } from '../jobdir/status-file.js';

export function reportAgentEvents(job: Job, agents: AgentRegistry, status: StatusFile): void {
  const { log, edges, paths, nodes } = job;
  agents.on('connected', (node, pid) => status.updateBatched((s) => withNode(s, node, { pid })));
  agents.on('joined', (info, notes) => {
    for (const note of notes) log(`${info.name}: ${note}`);
    const n = agents.joinedCount();
    const sat = agents.slot(info.name)?.satellite;
    log(
      `${info.name} joined (${info.cpus} CPU, ${info.gpus} GPU) ${sat !== undefined ? `from satellite ${sat}, ${n} nodes in the cluster` : `${n}/${nodes.length}`}`,
    );
    status.updateBatched((s) =>
      withPhase(withNode(s, info.name, { state: 'joined', cpus: info.cpus, gpus: info.gpus }), edges.now(), {
        phase: 'node-joined',
        node: info.name,
      }),
    );
  });
  agents.on('failed', (node, reason) => {
    log(`${node} failed: ${reason} (log: ${paths.agentLog(node)})`);
    status.updateBatched((s) =>
      withPhase(withNode(s, node, { state: 'failed', reason }), edges.now(), {
        phase: 'node-failed',
        node,
        detail: reason,
      }),
    );
  });
  // under Slurm a stop signal reaches every step at once (scancel, a time limit): an agent that says
  // it got one stops the job as the controller's own signal would, so its disconnect is no failure
  agents.on('signalled', (node, signal) => {
    // a satellite is a Slurm job of its own: its signal (scancel, its time limit) ends that satellite, not the job (satellites.ts)
    if (agents.slot(node)?.satellite !== undefined) return;
    log(`${node}'s agent received ${signal}: stopping the job`);
    job.stop.request({ kind: 'signal', signal, node });
  });
  agents.on('lost', (node, reason) => {
    log(`${node} lost: ${reason} (log: ${paths.agentLog(node)})`);
    status.updateBatched((s) =>
      withPhase(withNode(s, node, { state: 'lost', reason }), edges.now(), {
        phase: 'node-lost',
        node,
        detail: reason,
      }),
    );
    // losing a satellite's node is an expected event: its work is retried or reported, the cluster goes on
    if (!job.plan.continueOnNodeLoss && agents.slot(node)?.satellite === undefined)
      job.stop.request({ kind: 'node-lost', node, reason, log: paths.agentLog(node) });
  });
}
