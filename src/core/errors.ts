/**
 * Typed errors. Each carries the process exit code (DESIGN.md, "Exit codes") and a one-line hint.
 * Only src/cli/main.ts turns them into output and an exit status.
 */
export const ExitCode = {
  ok: 0,
  collision: 1,
  usage: 2,
  slurm: 3,
  clusterDidNotForm: 4,
  nodeLost: 5,
  preempted: 6,
  internal: 70,
} as const;

export class RayslError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  /** Machine-readable extra facts for --json output (e.g. missing nodes, the colliding port). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    message: string,
    opts: { exitCode: number; hint?: string; details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode;
    this.hint = opts.hint;
    this.details = opts.details;
  }
}

type Opts = { hint?: string; details?: Record<string, unknown>; cause?: unknown };

/** Bad flags, bad config, bad input (exit 2). */
export class UsageError extends RayslError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, exitCode: ExitCode.usage });
  }
}

/** A Slurm command failed or printed something we cannot read (exit 3). */
export class SlurmError extends RayslError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, exitCode: ExitCode.slurm });
  }
}

/** The cluster did not form before the join deadline (exit 4). */
export class ClusterFormError extends RayslError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, exitCode: ExitCode.clusterDidNotForm });
  }
}

/** A node was lost after it joined (exit 5). */
export class NodeLostError extends RayslError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, exitCode: ExitCode.nodeLost });
  }
}

/** Slurm's warning came (time limit near, or preemption): the job stopped early on purpose (exit 6). */
export class PreemptedError extends RayslError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, exitCode: ExitCode.preempted });
  }
}

/** A bug or an impossible state (exit 70). */
export class InternalError extends RayslError {
  constructor(message: string, opts: Opts = {}) {
    super(message, { ...opts, exitCode: ExitCode.internal });
  }
}

/** Anything thrown that is not a RayslError becomes an internal error, keeping the original as cause. */
export function asRayslError(err: unknown): RayslError {
  if (err instanceof RayslError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`internal error: ${message}`, {
    hint: 'this is a bug in raysl; rerun with --debug and report the stack trace',
    cause: err,
  });
}
