/**
 * The builtin runtime's own messages between its controller half and its agent halves, carried
 * on the agent channel as `{ t: 'rt', body }` (protocol/agent.ts) and validated here:
 *
 *   controller half                     agent half (one per node)
 *   exec {id, argv, env, gpuIds}  ->    spawns it in its own process group
 *                                 <-    started {id, pid} | output {id, stream, data}* | exited {id, ...}
 *   kill {id, graceMs}            ->    TERM the group, KILL after the grace (exited follows)
 *
 * Output travels as it is produced (utf8 text chunks); the controller half keeps what the
 * caller's result carries and forwards the chunks to a caller that streams them.
 */
import * as z from 'zod/mini';
import { nonNegInt, parseWith, stringMap } from './wire.js';

const exec = z.object({
  k: z.literal('exec'),
  id: z.string(),
  argv: z.array(z.string()).check(z.minLength(1)),
  env: stringMap(),
  cwd: z.optional(z.string()),
  /** Kill the command's process group after this long (reported as timedOut). */
  timeoutMs: z.optional(nonNegInt()),
});
const kill = z.object({ k: z.literal('kill'), id: z.string(), graceMs: nonNegInt() });
const toAgentSchema = z.discriminatedUnion('k', [exec, kill]);
export type ToAgent = z.infer<typeof toAgentSchema>;
export type ExecRequest = z.infer<typeof exec>;

const started = z.object({ k: z.literal('started'), id: z.string(), pid: z.int() });
const output = z.object({
  k: z.literal('output'),
  id: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  data: z.string(),
});
const exited = z.object({
  k: z.literal('exited'),
  id: z.string(),
  exitCode: z.nullable(z.int()),
  signal: z.nullable(z.string()),
  timedOut: z.optional(z.boolean()),
  /** The command could not be started at all (e.g. no such file): exitCode 127 and this message. */
  error: z.optional(z.string()),
});
const toControllerSchema = z.discriminatedUnion('k', [started, output, exited]);
export type ToController = z.infer<typeof toControllerSchema>;
export type ExitedReport = z.infer<typeof exited>;

export const parseToAgent = (x: unknown): ToAgent => parseWith(toAgentSchema, x, 'builtin runtime message');
export const parseToController = (x: unknown): ToController =>
  parseWith(toControllerSchema, x, 'builtin runtime report');
