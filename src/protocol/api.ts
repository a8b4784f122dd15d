/**
 * The client API contract, version 5: what `import { connect } from 'raysl'` speaks to the job's
 * control server (HTTP on the head's address, `Authorization: Bearer <token>` on every request,
 * 401 otherwise). `GET /v1/info` is the handshake: a client of another version stops there with
 * a clear error. Bodies are validated here on both sides; types are derived from the schemas.
 *
 *   GET    /v1/info                          -> Info
 *   GET    /v1/nodes                         -> { nodes: NodeInfo[] }        (joined, join order)
 *   GET    /v1/resources | /v1/available     -> Totals                       (all | free now)
 *   PUT    /v1/kv/<key>  {value}             -> 204
 *   GET    /v1/kv/<key>[?waitMs=N]           -> 200 {value} | 404            (waitMs: until put)
 *   POST   /v1/tasks     TaskRequest         -> 200 NDJSON of TaskEvent, ending in result|error
 *   POST   /v1/services  TaskRequest         -> 200 NDJSON of TaskEvent: ..., started, output*, result|error
 *   DELETE /v1/services/<id>[?graceMs=N]     -> 204 (its stream then ends with result)
 *   POST   /v1/placement-groups  GroupRequest -> 200 GroupState | 422 {error, kind: 'infeasible'}
 *   GET    /v1/placement-groups/<id>[?waitMs=N] -> 200 GroupState (ready, or pending at the deadline)
 *   DELETE /v1/placement-groups/<id>         -> 204 (its tasks and services are stopped)
 *   POST   /v1/exec/<id>/stdin  a streamed body -> the command's stdin (ExecRequest.stdin; 204 once it ended)
 *   POST   /v1/exec      ExecRequest        -> 200 NDJSON of ExecEvent: started, output*, exit   (`raysl up` clusters only;
 *                                              409 {kind: 'not-holding'} on a job that runs its own entrypoint)
 *
 * Closing a task's, service's or exec's stream (the caller aborted, or went away) kills its process group.
 * Errors outside a stream: { error, kind? } with 400 (malformed), 401, 404, 409, 422, 503.
 */
import * as z from 'zod/mini';
import { nodeInfoSchema } from './agent.js';
import { nonNegInt, numberMap, parseWith, stringMap } from './wire.js';

export const API_VERSION = 5 as const;
export type { NodeInfo } from './agent.js';

export const infoSchema = z.object({
  protocol: z.int(),
  jobId: z.string(),
  runtime: z.enum(['ray', 'builtin']),
  head: z.string(),
});
export type Info = z.infer<typeof infoSchema>;

export const nodesSchema = z.object({ nodes: z.array(nodeInfoSchema) });

/** Resources in user units (0.5 GPU is 0.5); memory in MB; custom resources by name. */
export const totalsSchema = z.object({
  nodes: nonNegInt(),
  cpus: z.number(),
  gpus: z.number(),
  memoryMb: z.optional(z.number()),
  custom: numberMap(),
});
export type Totals = z.infer<typeof totalsSchema>;

const resourceRequestSchema = z.object({
  cpus: z.optional(z.number()),
  gpus: z.optional(z.number()),
  memoryMb: z.optional(z.number()),
  custom: z.optional(numberMap()),
});
export type ResourceRequest = z.infer<typeof resourceRequestSchema>;

export const strategySchema = z.enum(['PACK', 'SPREAD', 'STRICT_PACK', 'STRICT_SPREAD']);
export type Strategy = z.infer<typeof strategySchema>;

const taskRequestSchema = z.object({
  argv: z.array(z.string()).check(z.minLength(1)),
  /** What the task holds while it runs (default: 1 CPU, as a Ray task). */
  resources: z.optional(resourceRequestSchema),
  /** Pin to one node (today's `cluster.run(node, argv)`). */
  node: z.optional(z.string()),
  placementGroup: z.optional(z.string()),
  bundle: z.optional(nonNegInt()),
  env: z.optional(stringMap()),
  cwd: z.optional(z.string()),
  /** Kill the command's process group after this long (result.timedOut). */
  timeoutMs: z.optional(nonNegInt()),
  /** Fail with kind 'pending-timeout' if not placed within this long. */
  pendingTimeoutMs: z.optional(nonNegInt()),
  /** Run again elsewhere when its node is lost (and on a non-zero exit with retryOnFailure). */
  maxRetries: z.optional(nonNegInt()),
  retryOnFailure: z.optional(z.boolean()),
});
export type TaskRequest = z.infer<typeof taskRequestSchema>;

const taskResultSchema = z.object({
  id: z.string(),
  exitCode: z.nullable(z.int()),
  signal: z.nullable(z.string()),
  node: z.string(),
  gpuIds: z.array(z.string()),
  stdout: z.string(),
  stderr: z.string(),
  /** ms since the epoch: when the command started and ended (last attempt). */
  startedAt: z.number(),
  endedAt: z.number(),
  attempts: z.int(),
  timedOut: z.boolean(),
});
export type TaskResult = z.infer<typeof taskResultSchema>;

const errorKindSchema = z.enum([
  'bad-request',
  'infeasible',
  'pending-timeout',
  'node-lost',
  'cancelled',
  'shutting-down',
  'unauthorized',
  'not-found',
  'not-holding',
  'not-elastic',
  'slurm-failed',
]);
export type ErrorKind = z.infer<typeof errorKindSchema>;

const taskEventSchema = z.discriminatedUnion('e', [
  z.object({ e: z.literal('accepted'), id: z.string() }),
  /** Waiting for resources: what it waits for. */
  z.object({ e: z.literal('pending'), reason: z.string() }),
  z.object({ e: z.literal('placed'), node: z.string(), gpuIds: z.array(z.string()), attempt: z.int() }),
  /** A service's command runs: where to reach it (its own port from the job's block). */
  z.object({ e: z.literal('started'), node: z.string(), address: z.string(), port: z.optional(z.int()), pid: z.int() }),
  z.object({ e: z.literal('output'), stream: z.enum(['stdout', 'stderr']), data: z.string() }),
  z.object({ e: z.literal('retry'), attempt: z.int(), reason: z.string() }),
  z.object({ e: z.literal('result'), result: taskResultSchema }),
  z.object({ e: z.literal('error'), kind: errorKindSchema, message: z.string() }),
]);
export type TaskEvent = z.infer<typeof taskEventSchema>;

const groupRequestSchema = z.object({
  bundles: z.array(resourceRequestSchema).check(z.minLength(1)),
  strategy: strategySchema,
});
export type GroupRequest = z.infer<typeof groupRequestSchema>;

const bundleGrantSchema = z.object({
  node: z.string(),
  cpus: z.number(),
  gpus: z.number(),
  gpuIds: z.array(z.string()),
  memoryMb: z.number(),
  custom: numberMap(),
});
export const groupStateSchema = z.object({
  id: z.string(),
  state: z.enum(['pending', 'ready', 'removed']),
  strategy: strategySchema,
  /** Where each bundle is reserved (once ready). */
  bundles: z.optional(z.array(bundleGrantSchema)),
  /** Why a group was removed by raysl itself (a node of it was lost, or it can never fit). */
  reason: z.optional(z.string()),
  /** What kind of removal: the caller's remove() (cancelled), infeasible, node-lost, shutting-down. */
  kind: z.optional(errorKindSchema),
});
export type GroupState = z.infer<typeof groupStateSchema>;

/**
 * `raysl exec`: a command run on the head exactly as a job's entrypoint runs (same environment:
 * RAYSL_ADDRESS, RAY_ADDRESS, ports, token), in the caller's cwd when the head can see it. Several
 * may run at once, each in its own process group.
 */
const execRequestSchema = z.object({
  argv: z.array(z.string()).check(z.minLength(1)),
  /** The caller's working directory; the job's own cwd when the head cannot see this one. */
  cwd: z.optional(z.string()),
  /**
   * The caller streams its stdin: POST /v1/exec/<id>/stdin (id from the started event), the
   * request body piped to the command's stdin as it arrives, its end closing it. Without: /dev/null.
   */
  stdin: z.optional(z.boolean()),
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

const execEventSchema = z.discriminatedUnion('e', [
  /** cwd: where it runs (the caller's, or the job's when the caller's is not on the head: note says so). */
  z.object({
    e: z.literal('started'),
    id: z.string(),
    pid: z.int(),
    node: z.string(),
    cwd: z.string(),
    note: z.optional(z.string()),
  }),
  z.object({ e: z.literal('output'), stream: z.enum(['stdout', 'stderr']), data: z.string() }),
  /** code: the process's own, or 128 + signal number; 127 when it could not start. */
  /** stopped: why raysl stopped it (the cluster shut down under it), when it did. */
  z.object({
    e: z.literal('exit'),
    code: z.int(),
    signal: z.nullable(z.string()),
    log: z.string(),
    stopped: z.optional(z.string()),
  }),
  z.object({ e: z.literal('error'), kind: errorKindSchema, message: z.string() }),
]);
export type ExecEvent = z.infer<typeof execEventSchema>;

export const errorBodySchema = z.object({ error: z.string(), kind: z.optional(errorKindSchema) });

export const parseTaskRequest = (x: unknown): TaskRequest => parseWith(taskRequestSchema, x, 'task request');
export const parseGroupRequest = (x: unknown): GroupRequest =>
  parseWith(groupRequestSchema, x, 'placement group request');
export const parseExecRequest = (x: unknown): ExecRequest => parseWith(execRequestSchema, x, 'exec request');
export const parseExecEvent = (x: unknown): ExecEvent => parseWith(execEventSchema, x, 'exec event');
export const parseTaskEvent = (x: unknown): TaskEvent => parseWith(taskEventSchema, x, 'task event');

/** KV keys travel in the URL path: keep them to a safe alphabet. */
export const KV_KEY = /^[A-Za-z0-9._:/-]{1,256}$/;
