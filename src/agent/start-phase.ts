/**
 * The start phase: the node's scratch dir, then its runtime, up and ready; then `ready` to the
 * controller (this node has joined). A runtime that cannot start is this node's failure, named
 * to the controller with its cause (Ray missing, a temp dir too long, a port Ray could not bind).
 */
import { mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { asRayslError } from '../core/errors.js';
import { appPortsEnv } from '../core/ports.js';
import type { PortLayout } from '../core/types.js';
import type { Welcome } from '../protocol/agent.js';
import type { RuntimeAdapter, RuntimeProcess } from '../runtimes/types.js';
import type { Channel } from './channel.js';
import type { AgentContext } from './context.js';
import type { GrantDecision } from './granted.js';
import type { Outcome } from './outcome.js';
import type { ProbedBlock } from './probe-phase.js';

/** A node whose runtime is up and has joined. */
export interface JoinedNode {
  runtime: RuntimeProcess;
  /** What the job's processes on this node see on top of the agent's own environment. */
  runEnv: NodeJS.ProcessEnv;
  portBase: number;
  layout: PortLayout;
}

export async function startPhase(
  ctx: AgentContext,
  channel: Channel,
  adapter: RuntimeAdapter,
  w: Welcome,
  grant: GrantDecision,
  block: ProbedBlock,
): Promise<JoinedNode | Outcome> {
  const scratch = w.scratchDir;
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  ctx.teardown.push({ name: 'the scratch directory', run: () => removeScratch(scratch) });
  const runEnv = nodeEnv(ctx.node, w, grant, block.portBase);
  const startFailed = (err: unknown): Outcome => {
    const e = asRayslError(err);
    return {
      kind: 'start-failed',
      runtime: w.runtime,
      reason: e.message,
      ...(e.hint !== undefined ? { hint: e.hint } : {}),
    };
  };
  let runtime: RuntimeProcess;
  try {
    runtime = await adapter.start({
      jobId: w.jobId,
      role: ctx.role,
      nodeName: ctx.node,
      address: w.address,
      ...(w.iface !== undefined ? { iface: w.iface } : {}),
      headAddress: block.start.headAddress,
      portBase: block.portBase,
      headPortBase: block.start.headPortBase ?? block.portBase,
      layout: w.layout,
      resources: grant.resources,
      scratchDir: scratch,
      rayAuth: w.rayAuth,
      tokenFile: w.tokenFile,
      runtimeLogDir: w.runtimeLogDir,
      ...(w.customResources !== undefined ? { customResources: w.customResources } : {}),
      env: { ...ctx.env, ...runEnv },
      log: ctx.log,
    });
  } catch (err) {
    return startFailed(err);
  }
  ctx.teardown.push({ name: `the ${w.runtime} runtime`, run: () => runtime.stop(ctx.graceMs) });
  // before ready, a crash is a failed start: ready rejects with the runtime's own reason
  const up = await Promise.race([runtime.ready.then(() => 'ready' as const, startFailed), ctx.ending.promise]);
  if (up !== 'ready') return up;
  // exited may have settled while ready was resolving: a runtime already gone must not join
  const gone = await Promise.race([runtime.exited, Promise.resolve(undefined)]);
  if (gone && !gone.expected)
    return {
      kind: 'runtime-exited',
      code: gone.code,
      signal: gone.signal,
      ...(gone.detail !== undefined ? { detail: gone.detail } : {}),
    };
  // the address other nodes and the entrypoint reach this node's runtime on (--iface moves it)
  const address = runtime.address ?? w.address;
  channel.send({
    t: 'ready',
    ...(runtime.notes && runtime.notes.length > 0 ? { notes: runtime.notes } : {}),
    node: {
      name: ctx.node,
      role: ctx.role,
      address,
      hostname: hostname(),
      cpus: grant.resources.cpus,
      gpus: grant.resources.gpus,
      ...(grant.resources.memoryMb !== undefined ? { memoryMb: grant.resources.memoryMb } : {}),
      gpuIds: grant.gpuIds,
      ...(w.customResources && Object.keys(w.customResources).length > 0 ? { custom: w.customResources } : {}),
    },
  });
  ctx.log(
    `joined: runtime ${w.runtime} up on ${address}, ports ${block.portBase}-${block.portBase + w.layout.size - 1}`,
  );
  return { runtime, runEnv, portBase: block.portBase, layout: w.layout };
}

/** The job's environment plus this node's name, address, app ports and GPUs. */
function nodeEnv(node: string, w: Welcome, grant: GrantDecision, portBase: number): NodeJS.ProcessEnv {
  return {
    ...w.env,
    RAYSL_NODE: node,
    RAYSL_NODE_ADDRESS: w.address,
    ...appPortsEnv(portBase, w.layout),
    // the GPUs this node may use; none planned hides them all (nothing claims what Slurm did not bind)
    ...(grant.gpuIds.length > 0 || w.expected.gpus === 0 ? { CUDA_VISIBLE_DEVICES: grant.gpuIds.join(',') } : {}),
  };
}

function removeScratch(scratch: string): void {
  rmSync(scratch, { recursive: true, force: true });
  // the job's scratch root is shared by the agents on one machine: the last one out removes it
  try {
    rmdirSync(dirname(scratch));
  } catch {
    // not empty yet, or already gone
  }
}
