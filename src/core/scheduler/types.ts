/**
 * The builtin runtime's resource model, as the controller and the client see it. Values are in user
 * units (0.5 GPU, 1.5 CPUs); the scheduler keeps integer units internally (units.ts).
 */
export type Strategy = 'PACK' | 'SPREAD' | 'STRICT_PACK' | 'STRICT_SPREAD';
export const STRATEGIES: readonly Strategy[] = ['PACK', 'SPREAD', 'STRICT_PACK', 'STRICT_SPREAD'];

export interface ResourceRequest {
  cpus?: number;
  gpus?: number;
  memoryMb?: number;
  custom?: Record<string, number>;
}

export interface NodeCapacity {
  name: string;
  cpus: number;
  gpuIds: string[];
  memoryMb?: number;
  custom?: Record<string, number>;
}

/** What a task or a bundle holds; gpus lists concrete device ids (Slurm's ids on that node) and the share of each. */
export interface Grant {
  node: string;
  cpus: number;
  memoryMb: number;
  custom: Record<string, number>;
  gpus: Array<{ id: string; share: number }>;
}

/** Where a task must run: a node, or inside a placement group (one bundle, or the first with room). */
export interface Target {
  node?: string;
  group?: string;
  bundle?: number;
}

export type Decision =
  | { kind: 'placed'; id: string; grant: Grant }
  | { kind: 'rejected'; id: string; reason: string }
  | { kind: 'group-ready'; group: string; bundles: Grant[] }
  | { kind: 'group-rejected'; group: string; reason: string };

export interface Totals {
  nodes: number;
  cpus: number;
  gpus: number;
  memoryMb: number;
  custom: Record<string, number>;
}

export type SubmitResult =
  | { status: 'placed'; grant: Grant }
  | { status: 'pending' }
  | { status: 'rejected'; reason: string };
export type GroupResult =
  | { status: 'ready'; bundles: Grant[] }
  | { status: 'pending' }
  | { status: 'rejected'; reason: string };
