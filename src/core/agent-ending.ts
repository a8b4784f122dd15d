/**
 * agent-<node>.ending.json: what an agent writes into the job dir as it ends (how, and when). A reader
 * uses it as one more fact about a job whose status.json is not final: agents that saw the controller
 * go away are the controller's own witnesses when neither its pid nor Slurm can be asked (a status
 * read from another login node, Slurm not reachable). Stable contract (version 1), like status.json.
 */
import * as z from 'zod/mini';

const AgentEndingSchema = z.object({
  version: z.literal(1),
  node: z.string(),
  /** The agent's outcome kind (src/agent/outcome.ts): 'lost' means the controller went away. */
  outcome: z.string(),
  /** The agent's own last log line. */
  line: z.string(),
  /** ISO time. */
  at: z.string(),
});
export type AgentEnding = z.infer<typeof AgentEndingSchema>;

export const AGENT_ENDING_SUFFIX = '.ending.json';

/** A record, or undefined when the text is not one (a torn write, another version): a reader skips it. */
export function parseAgentEnding(text: string): AgentEnding | undefined {
  try {
    const r = AgentEndingSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
