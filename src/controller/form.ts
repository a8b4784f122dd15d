/**
 * Form: the control server on the job's port block, the block recorded, the agents launched, the
 * probe phase (port-phase.ts: every agent bind-probes the block; a taken port moves the job to the
 * next block), then the wait for --min-nodes to join. Everything started goes on the teardown
 * stack as it starts.
 */
import { join } from 'node:path';
import type { PortsRecord } from '../core/jobdir.js';
import { allocatePortBlock } from '../core/ports.js';
import { withPhase, withState } from '../core/status.js';
import type { PortBlock } from '../core/types.js';
import { customResourcesFor } from '../core/resources.js';
import { resourcesForRole } from '../core/het-plan.js';
import { InternalError } from '../core/errors.js';
import { AGENT_PROTOCOL, type Welcome } from '../protocol/agent.js';
import { API_VERSION } from '../protocol/api.js';
import { launchAgents } from './launch.js';
import { reportAgentEvents } from './agent-reports.js';
import { AgentRegistry, type AgentSlot } from './agents.js';
import type { Placement } from './allocate.js';
import { bindControlServer, blockGeometry, type BlockGeometry } from './block.js';
import type { Job } from './job.js';
import { Cancelled, waitForJoin } from './join.js';
import { PortPhase, type PortPhaseOptions } from './port-phase.js';
import { Satellites } from './satellites.js';
import { attachRuntimeHalf } from './runtime-half.js';
import { createControlServer, type ControlServer } from './server.js';
import { writeJsonAtomic } from '../jobdir/write.js';
import type { ControllerHalf } from '../runtimes/types.js';
import { newToken, writeTokenFile } from '../jobdir/token.js';

export interface Cluster {
  agents: AgentRegistry;
  /** The block the job settled on (the probe phase may have moved it off the server's). */
  block: PortBlock;
  controllerAddress: string;
  token: string;
  control: ControlServer;
  /** The runtime's controller half (builtin), if it has one. */
  half?: ControllerHalf;
  /** Satellites: grow and shrink (raysl grow|shrink, the autoscaler). */
  elastic: Satellites;
}

/** The raysl bundle in the agent's argv ([node, '--', bundle, 'agent']): a satellite runs the same one. */
function rayslBundle(agentArgv: string[]): string {
  const i = agentArgv.lastIndexOf('agent');
  return agentArgv[i - 1] ?? agentArgv[1] ?? '';
}

/** What form builds after the agent registry that the registry's welcome needs: set before any agent connects. */
interface Later {
  phase?: PortPhase;
  satellites?: Satellites;
}

function needed<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new InternalError(`an agent was welcomed before the ${what} existed`);
  return value;
}

/** The welcome each agent gets: its block and shape from the probe phase, or from its satellite's. */
function welcomeFor(job: Job, later: Later): (slot: AgentSlot) => Welcome {
  const { plan, jobId, nodes, paths } = job;
  return (slot) => ({
    t: 'welcome',
    v: AGENT_PROTOCOL,
    jobId,
    runtime: plan.runtime,
    address: slot.address,
    ...(plan.iface !== undefined ? { iface: plan.iface } : {}),
    ...(slot.satellite !== undefined
      ? needed(later.satellites, 'satellites').welcomeFor(slot)
      : { ...needed(later.phase, 'probe phase').welcomeFor(slot), expected: resourcesForRole(plan, slot.role) }),
    layout: plan.portLayout,
    scratchDir: join(job.scratchRoot, slot.name),
    env: plan.env,
    customResources: customResourcesFor(plan.resources, {
      index: slot.satellite !== undefined ? nodes.length : nodes.indexOf(slot.name),
      role: slot.role,
    }),
    rayAuth: plan.rayAuth,
    tokenFile: paths.token,
    runtimeLogDir: paths.runtimeLogs(slot.name),
    ...(plan.preflight !== undefined ? { preflight: plan.preflight } : {}),
  });
}

/**
 * Records a block (ports.json, the launcher's record, status.json) one after another: the first runs
 * while the agents launch, and a move must not overtake it.
 */
function blockRecorder(
  job: Job,
  status: Placement['status'],
  controllerAddress: string,
): (b: PortBlock) => Promise<void> {
  const { jobId, edges, paths } = job;
  let recorded: Promise<void> = Promise.resolve();
  const recordOne = async (b: PortBlock): Promise<void> => {
    const record: PortsRecord = {
      version: 1,
      jobId,
      base: b.base,
      size: b.size,
      controller: controllerAddress,
      pid: process.pid,
    };
    writeJsonAtomic(paths.ports, record);
    await edges.launcher.recordBlock(jobId, b, controllerAddress);
    status.update((s) => ({ ...s, controller: controllerAddress, portBlock: b }));
  };
  return (b) => (recorded = recorded.catch(() => {}).then(() => recordOne(b)));
}

interface PhaseInputs {
  agents: AgentRegistry;
  geometry: BlockGeometry;
  serverBlock: PortBlock;
  taken: PortBlock[];
  record: (b: PortBlock) => Promise<void>;
  startFor: PortPhaseOptions['startFor'];
}

/** The probe phase on the server's block: a taken port moves the job to the next free block. */
function probePhase(job: Job, i: PhaseInputs): PortPhase {
  const { plan, edges, jobId, log } = job;
  const { geometry, serverBlock } = i;
  return new PortPhase({
    agents: i.agents,
    minNodes: plan.minNodes,
    first: serverBlock,
    layout: plan.portLayout,
    maxAttempts: edges.faults?.probeAttempts ?? 8,
    next: (failed) =>
      allocatePortBlock({
        jobId,
        size: geometry.size,
        range: plan.portRange,
        taken: [...i.taken, serverBlock, ...failed],
      }),
    record: i.record,
    // the head's controller port is ours already; a moved block's controller slot stays unused
    probeFor: (slot, b) =>
      geometry
        .slicePorts(geometry.sliceBase(slot, b))
        .filter((p) => !(p === geometry.controllerPort(b) && (slot.role === 'head' || b !== serverBlock))),
    baseFor: geometry.sliceBase,
    startFor: i.startFor,
    log,
    straggleMs: edges.probeStraggleMs ?? 1000,
  });
}

/** Until --min-nodes joined; the probe phase closes if the cluster does not form. */
async function joined(job: Job, agents: AgentRegistry, ph: PortPhase): Promise<void> {
  const { plan } = job;
  try {
    await Promise.race([
      waitForJoin({
        agents,
        min: plan.minNodes,
        timeoutMs: plan.joinTimeoutSec * 1000,
        cancelled: Promise.race([job.stop.stopped, ph.failed.catch(() => undefined)]),
        containerCmd: plan.container !== undefined && 'cmd' in plan.container,
      }),
      ph.failed,
    ]);
  } catch (err) {
    ph.close();
    throw err;
  }
}

export async function form(job: Job, placed: Placement): Promise<Cluster> {
  const { plan, edges, jobId, nodes, head, paths, log, teardown } = job;
  const { headAddress, slots, status } = placed;
  log(
    `job ${jobId}: ${nodes.length} node(s) ${job.nodelist}, head ${head} (${headAddress}), runtime ${plan.runtime}, launcher ${edges.launcher.name}`,
  );

  const token = newToken();
  writeTokenFile(paths.token, token);
  // Where the head's runtime will listen: its agent reports it with its probe (--iface may move it
  // off the Slurm address). Workers start at the same time as the head, pointed at that address.
  let headProbed: (address: string) => void = () => {};
  const headBindAddress = new Promise<string>((r) => (headProbed = r));
  // the probe phase needs the server's block, the server needs the registry: agents connect (and
  // are welcomed) only after the launch below, by when the phase and the satellites exist
  const later: Later = {};
  const agents = new AgentRegistry(slots, welcomeFor(job, later));

  const geometry = blockGeometry(plan, nodes, edges.launcher.sharedPortSpace && job.runtime.bindsWildcard === true);
  const taken = await placed.taken;
  // pushed before the bind so that it is undone after the server closes: a block's record outlives its ports
  teardown.push({ name: 'port record', run: () => edges.launcher.releaseBlock(jobId) });
  // the runtime's routes and messages; closed before the server, so its callers get an answer
  const half = attachRuntimeHalf(job, agents, geometry, () => needed(later.phase, 'probe phase'));
  const ctl = createControlServer({
    token,
    info: { protocol: API_VERSION, jobId, runtime: plan.runtime, head },
    agents,
    holds: plan.entrypoint === null,
    ...(half ? { half } : {}),
    elastic: () => later.satellites,
  });
  teardown.push({ name: 'control server', run: () => ctl.close() });
  if (half) teardown.push({ name: 'runtime', run: () => half.close() });
  const serverBlock = await bindControlServer({
    ctl,
    host: headAddress,
    plan,
    jobId,
    geometry,
    taken,
    attempts: edges.bindAttempts ?? 8,
    firstPortBase: edges.faults?.firstPortBase,
    log,
  });
  // The control server stays on this block's controller port for the whole job (agents get its
  // address on their command line); a move by the probe phase only moves the runtime's ports.
  const controllerAddress = `${headAddress}:${geometry.controllerPort(serverBlock)}`;
  const record = blockRecorder(job, status, controllerAddress);
  // recorded while the agents launch (a Slurm call each): awaited before the join, so a failure still fails the job
  const firstRecord = record(serverBlock);
  firstRecord.catch(() => {});
  log(
    `control server on ${controllerAddress}, port block ${serverBlock.base}-${serverBlock.base + serverBlock.size - 1}`,
  );
  edges.onListening?.({ jobId, address: controllerAddress, jobDir: paths.dir });

  const startFor = async (slot: AgentSlot) => ({
    // without --iface the head binds its Slurm address: nobody waits for its probe
    headAddress: slot.role === 'worker' && plan.iface !== undefined ? await headBindAddress : headAddress,
    headPortBase: ph.current().base,
  });
  const ph = probePhase(job, { agents, geometry, serverBlock, taken, record, startFor });
  later.phase = ph;
  // the node's own record first: a satellite's state (below) follows from its nodes'
  reportAgentEvents(job, agents, status);
  const sats = new Satellites({
    job,
    agents,
    status,
    controllerAddress,
    slurm: edges.satellites,
    half,
    startFor,
    node: edges.agentArgv[0] ?? process.execPath,
    raysl: rayslBundle(edges.agentArgv),
  });
  later.satellites = sats;
  // after the agents are told to stop (pushed later, so it runs earlier): their Slurm jobs go then
  teardown.push({ name: 'satellites', run: () => sats.close() });
  agents.on('probed', (node, report) => {
    if (node === head) headProbed(report.bindAddress ?? headAddress);
  });

  await launchAgents(job, placed, agents, controllerAddress, token);
  await firstRecord;
  status.update((s) => withPhase(withState(s, 'forming'), edges.now(), { phase: 'agents-launched' }));
  await joined(job, agents, ph);
  // the phase stays open after the join: a node arriving late still probes the settled block and starts
  log(
    `cluster ready: ${agents.joinedNodes().length}/${nodes.length} nodes in ${((edges.now() - job.t0) / 1000).toFixed(2)}s`,
  );
  status.update((s) => withPhase(s, edges.now(), { phase: 'ready' }));
  if (job.stop.reason) throw new Cancelled('stopped');
  sats.ready();
  return {
    agents,
    block: ph.current(),
    controllerAddress,
    token,
    control: ctl,
    elastic: sats,
    ...(half ? { half } : {}),
  };
}
