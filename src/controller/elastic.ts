/**
 * The seam of an elastic cluster: what `raysl grow|shrink` (through the control server) and the
 * autoscaler (inside the controller) call. The controller owns satellites: it holds the token,
 * knows the plan, and cancels every satellite at teardown. Implemented by satellites.ts.
 */
import type { GrowRequest, SatelliteInfo } from '../protocol/elastic.js';

export type { GrowRequest, SatelliteInfo } from '../protocol/elastic.js';

export interface ShrinkTarget {
  /** One node (of a satellite). */
  node?: string;
  /** A whole satellite (its raysl id s<k> or its Slurm job id). */
  satellite?: string;
}

export interface ElasticEvents {
  /** A satellite changed state (queued, joining, joined, draining, ended, cancelled, failed, lost). */
  changed: [sat: SatelliteInfo];
}

export interface Elastic {
  /**
   * Submits a satellite for req.nodes more nodes; resolves once sbatch accepted it (state queued),
   * or with req.waitMs once its nodes joined (or as it stands at that deadline). `reason` goes into
   * the timeline event.
   */
  grow(req: GrowRequest, reason: string): Promise<SatelliteInfo>;
  /**
   * Drains the target (the runtime places nothing new there; running work gets drainTimeoutMs to
   * finish, then is killed and retried elsewhere where it may), stops its agents and ends the
   * satellite when none of its nodes is left. Throws RayslError for an unknown target or a node of
   * the main allocation.
   */
  shrink(target: ShrinkTarget, reason: string, drainTimeoutMs?: number): Promise<void>;
  /** Every satellite of the job, in submit order (ended ones included). */
  satellites(): readonly SatelliteInfo[];
  /** Node names of satellites that are joined and not draining (the autoscaler's idle candidates). */
  activeNodes(): string[];
  on<K extends keyof ElasticEvents>(event: K, cb: (...args: ElasticEvents[K]) => void): unknown;
}

/**
 * The Slurm side of satellites (src/launchers/satellite-slurm.ts): the controller never runs a
 * Slurm binary itself. Absent under the local launcher: grow is refused there.
 */
export interface SatelliteSlurm {
  /** sbatch the script; resolves to the satellite's Slurm job id. */
  submit(scriptPath: string): Promise<string>;
  /** scancel the satellite (a job Slurm already forgot is no error). */
  cancel(slurmJobId: string): Promise<void>;
  /** Slurm's view of these jobs (long state names); a job Slurm no longer lists is absent. */
  look(slurmJobIds: string[]): Promise<Map<string, { state: string; reason: string; startTime: string }>>;
  /** Port blocks of other raysl jobs on these nodes (the satellite's own record left out). */
  takenBlocks(slurmJobId: string, nodes: string[]): Promise<import('../core/types.js').PortBlock[]>;
  /** Makes the satellite's block visible to later jobs (its own Comment). */
  recordBlock(slurmJobId: string, block: import('../core/types.js').PortBlock): Promise<void>;
}
