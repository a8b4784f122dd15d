/**
 * The controller <-> agent contract, version 4. An agent opens `GET /v1/agent` with
 * `Upgrade: raysl-agent.4` and the job's token; after `101` both sides speak newline-delimited
 * JSON on that socket, validated here at the boundary (types are derived from the schemas):
 *
 *   agent                              controller
 *   hello {v, node, granted}     ->
 *                                <-    welcome {everything the node needs} | refuse
 *   probed {round, taken}        ->                           (bind-probe of the job's block)
 *                                <-    probe {round, portBase} (the job moved) | start {round}
 *   ready {node} | fail {reason} ->
 *   rt {body}                   <->    rt {body}              (the runtime's halves, opaque here)
 *   runtime-exited               ->    entrypoint {pgid} (head), stop {reason}, drain {deadlineSec} (shrink)
 *
 * A closed socket is a lost node (no heartbeat is needed to notice). v4: the builtin runtime's
 * run/result moved into `rt` bodies (protocol/builtin.ts); ready carries custom resources.
 */
import * as z from 'zod/mini';
import { nonNegInt, numberMap, parseWith, port, stringMap } from './wire.js';

export const AGENT_PROTOCOL = 4 as const;
export const AGENT_UPGRADE = 'raysl-agent.4';

const role = z.enum(['head', 'worker']);
const runtimeName = z.enum(['ray', 'builtin']);

export const nodeInfoSchema = z.object({
  name: z.string(),
  role,
  address: z.string(),
  hostname: z.string(),
  cpus: z.number().check(z.minimum(0)),
  gpus: nonNegInt(),
  memoryMb: z.optional(z.number().check(z.minimum(0))),
  /** GPU ids the node's runtime may use (CUDA_VISIBLE_DEVICES as Slurm bound them). */
  gpuIds: z.array(z.string()),
  /** Custom resources this node advertises (--resources). */
  custom: z.optional(numberMap()),
});
export type NodeInfo = z.infer<typeof nodeInfoSchema>;

/** What Slurm granted this agent, as it saw it in its environment. */
const grantedSchema = z.object({
  cpus: z.optional(z.number()),
  gpus: z.optional(z.number()),
  gpuIds: z.array(z.string()),
});
export type Granted = z.infer<typeof grantedSchema>;

/** A port of the block this agent could not bind, and who holds it where /proc shows it. */
const takenPortSchema = z.object({
  port: port(),
  reason: z.enum(['in-use', 'permission']),
  holder: z.optional(z.object({ pid: z.int(), command: z.string() })),
});
export type TakenPort = z.infer<typeof takenPortSchema>;

const hello = z.object({
  t: z.literal('hello'),
  v: z.literal(AGENT_PROTOCOL),
  node: z.string().check(z.minLength(1)),
  role,
  pid: z.int(),
  hostname: z.string(),
  granted: grantedSchema,
});
/** The agent's bind-probe of one block (round n of the probe phase); `taken` empty = clean. */
const probed = z.object({
  t: z.literal('probed'),
  round: nonNegInt(),
  portBase: port(),
  taken: z.array(takenPortSchema),
  /** The address this node's runtime will bind (its --iface address when one is named). */
  bindAddress: z.optional(z.string()),
});
export type Probed = z.infer<typeof probed>;
/** notes: what the controller should log for the user (e.g. an old Ray without token auth). */
const ready = z.object({ t: z.literal('ready'), node: nodeInfoSchema, notes: z.optional(z.array(z.string())) });
const fail = z.object({ t: z.literal('fail'), reason: z.string(), hint: z.optional(z.string()) });
/** The agent received a stop signal (under Slurm: scancel, a time limit, a preemption): the job is being stopped. */
const signalled = z.object({ t: z.literal('signalled'), signal: z.enum(['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGHUP']) });
const runtimeExited = z.object({
  t: z.literal('runtime-exited'),
  code: z.nullable(z.int()),
  signal: z.nullable(z.string()),
  detail: z.optional(z.string()),
});
/** A message between the runtime's halves: the controller and agent carry it without reading it. */
const rt = z.object({ t: z.literal('rt'), body: z.unknown() });

const agentMessageSchema = z.discriminatedUnion('t', [hello, probed, ready, fail, signalled, runtimeExited, rt]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;

const layout = z.object({
  size: z.int().check(z.minimum(1)),
  ports: z.record(z.string(), nonNegInt()),
  ranges: z.record(z.string(), z.object({ offset: nonNegInt(), count: nonNegInt() })),
});

/** Everything an agent needs to start its runtime: the controller is the one source of truth. */
const welcome = z.object({
  t: z.literal('welcome'),
  v: z.literal(AGENT_PROTOCOL),
  jobId: z.string(),
  runtime: runtimeName,
  address: z.string(),
  /** Interface the user named (--iface): the runtime binds its address; the agent reports it in ready. */
  iface: z.optional(z.string()),
  /** Probe round of portBase/probe: the agent echoes it in `probed`. */
  round: nonNegInt(),
  portBase: port(),
  layout,
  expected: z.object({ cpus: z.number(), gpus: z.number(), memoryMb: z.optional(z.number()) }),
  /** Ports this agent must find free before starting its runtime. */
  probe: z.array(port()),
  scratchDir: z.string(),
  env: stringMap(),
  /** Custom resources this node advertises (--resources), to the scheduler and to Ray. */
  customResources: z.optional(numberMap()),
  /** Ray runtime: token authentication with the job's secret (the 0600 tokenFile), or off. */
  rayAuth: z.enum(['token', 'off']),
  tokenFile: z.string(),
  /** Where the runtime keeps its own logs (Ray's session logs) when its temp dir is removed. */
  runtimeLogDir: z.string(),
  /** --preflight: the thresholds this node checks itself against before its runtime starts (MiB). */
  preflight: z.optional(z.object({ shmMb: z.number(), diskMb: z.number() })),
});
export type Welcome = z.infer<typeof welcome>;

/** Probe again: the job moved to another block (a port of the last one was taken somewhere). */
const probeAgain = z.object({ t: z.literal('probe'), round: nonNegInt(), portBase: port(), probe: z.array(port()) });
export type ProbeAgain = z.infer<typeof probeAgain>;

/** Every agent that will be used found the block free: start the runtime on the last probed block. */
const start = z.object({
  t: z.literal('start'),
  round: nonNegInt(),
  /** Where the head's runtime listens: the address the head's agent probed (--iface may move it). */
  headAddress: z.string(),
  /** The head's port base: differs from the agent's own when simulated nodes share a port space. */
  headPortBase: z.optional(port()),
});
export type Start = z.infer<typeof start>;

/** To the head's agent: the entrypoint's process group, stopped by the agent if the controller is lost. */
const entrypoint = z.object({ t: z.literal('entrypoint'), pgid: z.int().check(z.minimum(2)) });
const stop = z.object({ t: z.literal('stop'), reason: z.string() });
/** Shrink: drain this node in the runtime itself (Ray: its GCS's DrainNode); the node leaves once idle or at the deadline. */
const drain = z.object({ t: z.literal('drain'), deadlineSec: z.int().check(z.minimum(1)), reason: z.string() });
const refuse = z.object({ t: z.literal('refuse'), reason: z.string() });

const controllerMessageSchema = z.discriminatedUnion('t', [
  welcome,
  probeAgain,
  start,
  entrypoint,
  rt,
  stop,
  refuse,
  drain,
]);
export type ControllerMessage = z.infer<typeof controllerMessageSchema>;

export function encodeMessage(msg: AgentMessage | ControllerMessage): string {
  return JSON.stringify(msg) + '\n';
}

/** Validates an agent's message; a hello of another version gets its own clear error. */
export function parseAgentMessage(x: unknown): AgentMessage {
  const v = (x as { t?: unknown; v?: unknown } | null)?.t === 'hello' ? (x as { v?: unknown }).v : AGENT_PROTOCOL;
  if (v !== AGENT_PROTOCOL)
    throw new Error(
      `agent speaks protocol ${String(v)}, controller speaks ${AGENT_PROTOCOL}: both must come from the same raysl install`,
    );
  return parseWith(agentMessageSchema, x, `agent message ${describeType(x)}`);
}

export function parseControllerMessage(x: unknown): ControllerMessage {
  const v = (x as { t?: unknown } | null)?.t === 'welcome' ? (x as { v?: unknown }).v : AGENT_PROTOCOL;
  if (v !== AGENT_PROTOCOL)
    throw new Error(
      `controller speaks protocol ${String(v)}, agent speaks ${AGENT_PROTOCOL}: both must come from the same raysl install`,
    );
  return parseWith(controllerMessageSchema, x, `controller message ${describeType(x)}`);
}

function describeType(x: unknown): string {
  const t = (x as { t?: unknown } | null)?.t;
  return typeof t === 'string' ? JSON.stringify(t) : '(no "t")';
}
