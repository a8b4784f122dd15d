/**
 * What the agents' events mean for the log and status.json, and a lost node for the job: without
 * --continue-on-node-loss it stops the job.
 */
import { withNode, withPhase } from '../core/status.js';
import type { AgentRegistry } from './agents.js';
import type { Job } from './job.js';
import type { StatusFile } from './status-file.js';

export function reportAgentEvents(job: Job, agents: AgentRegistry, status: StatusFile): void {
  const { log, edges, paths, nodes } = job;
  agents.on('connected', (node, pid) => status.updateSoon((s) => withNode(s, node, { pid })));
  agents.on('joined', (info, notes) => {
    for (const note of notes) log(`${info.name}: ${note}`);
    const n = agents.joinedNodes().length;
    log(`${info.name} joined (${info.cpus} CPU, ${info.gpus} GPU) ${n}/${nodes.length}`);
    status.updateSoon((s) => withPhase(withNode(s, info.name, { state: 'joined', cpus: info.cpus, gpus: info.gpus }), edges.now(), { phase: 'node-joined', node: info.name }));
  });
  agents.on('failed', (node, reason) => {
    log(`${node} failed: ${reason} (log: ${paths.agentLog(node)})`);
    status.update((s) => withPhase(withNode(s, node, { state: 'failed', reason }), edges.now(), { phase: 'node-failed', node, detail: reason }));
  });
  agents.on('lost', (node, reason) => {
    log(`${node} lost: ${reason} (log: ${paths.agentLog(node)})`);
    status.update((s) => withPhase(withNode(s, node, { state: 'lost', reason }), edges.now(), { phase: 'node-lost', node, detail: reason }));
    if (!job.plan.continueOnNodeLoss) job.stop.request({ kind: 'node-lost', node, reason, log: paths.agentLog(node) });
  });
}
