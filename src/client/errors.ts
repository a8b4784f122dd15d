/**
 * The client's typed errors. Every failure a caller can see is a RayslClientError with a `kind`
 * (the server's ErrorKind, or one of the client's own) and the HTTP `status` where there was one,
 * so `catch (e) { if (e instanceof InfeasibleError) ... }` and `e.kind === 'node-lost'` both work.
 */
import type { ErrorKind } from '../protocol/api.js';

/** The server's kinds, plus: the client's own input was wrong ('usage'), the server sent
 *  something off-contract or another version ('protocol'), the connection failed or closed
 *  early ('transport'), a placement group was removed while waited on ('removed'), a service
 *  ended before it started ('service-exited'), any other HTTP failure without a kind ('http'). */
export type ClientErrorKind = ErrorKind | 'usage' | 'protocol' | 'transport' | 'removed' | 'service-exited' | 'http';

export class RayslClientError extends Error {
  override name = 'RayslClientError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly kind: ClientErrorKind = 'http',
  ) {
    super(message);
  }
}

/** The request can never be satisfied by this cluster (no node, or no set of nodes, is big enough). */
export class InfeasibleError extends RayslClientError {
  override name = 'InfeasibleError';
  constructor(message: string, status?: number) {
    super(message, status, 'infeasible');
  }
}

/** Not placed within pendingTimeoutMs (or a placement group not ready within ready({ timeoutMs })). */
export class PendingTimeoutError extends RayslClientError {
  override name = 'PendingTimeoutError';
  constructor(message: string, status?: number) {
    super(message, status, 'pending-timeout');
  }
}

/** The node running the task was lost (and no retry was left). */
export class NodeLostError extends RayslClientError {
  override name = 'NodeLostError';
  constructor(message: string, status?: number) {
    super(message, status, 'node-lost');
  }
}

/** 401: the token is not this job's (RAYSL_TOKEN from another job, or none). */
export class UnauthorizedError extends RayslClientError {
  override name = 'UnauthorizedError';
  constructor(message: string, status = 401) {
    super(message, status, 'unauthorized');
  }
}

/** The caller aborted (AbortSignal, close()), or the server cancelled the task. */
export class CancelledError extends RayslClientError {
  override name = 'CancelledError';
  constructor(message: string, status?: number) {
    super(message, status, 'cancelled');
  }
}

/** The typed error for a kind the server named (in an error event or an error body). */
export function errorForKind(
  kind: ClientErrorKind | undefined,
  message: string,
  status: number | undefined,
): RayslClientError {
  switch (kind) {
    case 'infeasible':
      return new InfeasibleError(message, status);
    case 'pending-timeout':
      return new PendingTimeoutError(message, status);
    case 'node-lost':
      return new NodeLostError(message, status);
    case 'unauthorized':
      return new UnauthorizedError(message, status);
    case 'cancelled':
      return new CancelledError(message, status);
    default:
      if (status === 401) return new UnauthorizedError(message, status);
      return new RayslClientError(message, status, kind ?? 'http');
  }
}

/** A usage error of the caller's own making: what was wrong, and what to do. */
export function usageError(what: string, hint: string): RayslClientError {
  return new RayslClientError(`${what} (${hint})`, undefined, 'usage');
}
