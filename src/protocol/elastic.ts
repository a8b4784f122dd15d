/**
 * The elastic contract (part of the client API, protocol/api.ts): growing a running cluster with
 * satellite Slurm jobs and shrinking it again. Served by the job's control server, token auth as
 * every route:
 *
 *   GET    /v1/satellites                     -> { satellites: SatelliteInfo[] }
 *   POST   /v1/satellites    GrowRequest      -> 200 SatelliteInfo (queued in Slurm; with waitMs: once
 *                                                its nodes joined, or as it stands at the deadline)
 *   GET    /v1/satellites/<id>[?waitMs=N]     -> 200 SatelliteInfo (joined/ended, or as it stands at the deadline)
 *   POST   /v1/satellites/<id>/started  SatelliteStarted -> 200 { portBase }   (the satellite's batch step, once
 *                                                Slurm started it: its nodes; the answer is the port block its agents probe)
 *   POST   /v1/shrink        ShrinkRequest    -> 200 { satellites: SatelliteInfo[] } once every target is drained
 *                                                and its satellite ended; 404 {kind: 'not-found'} for an unknown
 *                                                target; 409 {kind: 'not-elastic'} for a node of the main allocation
 *
 * A satellite runs only agents: they join with the job's token and a port block of their own.
 */
import * as z from 'zod/mini';
import { nonNegInt, parseWith } from './wire.js';

/** The job flags that make sense for added nodes: everything else comes from the running job's plan. */
const growRequestSchema = z.object({
  nodes: z.int().check(z.minimum(1), z.maximum(4096)),
  partition: z.optional(z.string().check(z.minLength(1))),
  time: z.optional(z.string().check(z.minLength(1))),
  gpusPerNode: z.optional(nonNegInt()),
  cpusPerTask: z.optional(z.int().check(z.minimum(1))),
  mem: z.optional(z.string().check(z.minLength(1))),
  constraint: z.optional(z.string().check(z.minLength(1))),
  account: z.optional(z.string().check(z.minLength(1))),
  qos: z.optional(z.string().check(z.minLength(1))),
  containerImage: z.optional(z.string().check(z.minLength(1))),
  /** Wait until the satellite's nodes joined (or this deadline passed) before answering. */
  waitMs: z.optional(nonNegInt()),
  /** Why (the CLI says "by hand"; the autoscaler names the demand): a timeline event carries it. */
  reason: z.optional(z.string()),
});
export type GrowRequest = z.infer<typeof growRequestSchema>;

/**
 * queued (sbatch accepted it) -> joining (Slurm started it: its agents connect and probe) ->
 * joined (every node's runtime is up) -> draining (shrink asked) -> ended (drained and gone) |
 * cancelled (scancel from outside, or teardown) | failed (never joined, or Slurm refused it) | lost
 * (its nodes went away while joined; the cluster goes on).
 */
const satelliteStateSchema = z.enum([
  'queued',
  'joining',
  'joined',
  'draining',
  'ended',
  'cancelled',
  'failed',
  'lost',
]);
export type SatelliteState = z.infer<typeof satelliteStateSchema>;

const satelliteInfoSchema = z.object({
  /** raysl's own name for it: s1, s2, ... (a shrink target). */
  id: z.string(),
  /** Its Slurm job id (once sbatch answered). */
  slurmJobId: z.optional(z.string()),
  state: satelliteStateSchema,
  /** How many nodes it asked for. */
  requested: z.int(),
  /** Its nodes once Slurm placed it (node names: a shrink target too). */
  nodes: z.array(z.string()),
  /** Nodes whose runtime joined the cluster. */
  joined: z.array(z.string()),
  /** ISO times. */
  submittedAt: z.string(),
  startedAt: z.optional(z.string()),
  joinedAt: z.optional(z.string()),
  endedAt: z.optional(z.string()),
  /** Why it was asked for (by hand, or the autoscaler's reason). */
  reason: z.string(),
  /** Why it ended, failed or was lost. */
  why: z.optional(z.string()),
  /** Its batch script and the directory of its agents' logs. */
  script: z.optional(z.string()),
});
export type SatelliteInfo = z.infer<typeof satelliteInfoSchema>;

const satellitesSchema = z.object({ satellites: z.array(satelliteInfoSchema) });

const shrinkRequestSchema = z.object({
  /** Node names and/or satellite ids; a node of a satellite drains that node only. */
  targets: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  /** How long running work may take to finish before it is killed (and retried elsewhere where it may). */
  drainTimeoutMs: z.optional(nonNegInt()),
  reason: z.optional(z.string()),
});
export type ShrinkRequest = z.infer<typeof shrinkRequestSchema>;

/** The satellite's batch step says it runs: its Slurm job and nodes (SLURM_JOB_ID, SLURM_JOB_NODELIST). */
const satelliteStartedSchema = z.object({
  slurmJobId: z.string().check(z.minLength(1)),
  nodes: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
});
export type SatelliteStarted = z.infer<typeof satelliteStartedSchema>;

export const parseSatelliteStarted = (x: unknown): SatelliteStarted =>
  parseWith(satelliteStartedSchema, x, 'satellite start');
export const parseGrowRequest = (x: unknown): GrowRequest => parseWith(growRequestSchema, x, 'grow request');
export const parseShrinkRequest = (x: unknown): ShrinkRequest => parseWith(shrinkRequestSchema, x, 'shrink request');
export const parseSatellite = (x: unknown): SatelliteInfo => parseWith(satelliteInfoSchema, x, 'satellite');
export const parseSatellites = (x: unknown): { satellites: SatelliteInfo[] } =>
  parseWith(satellitesSchema, x, 'satellites');
