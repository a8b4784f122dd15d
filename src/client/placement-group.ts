/**
 * A placement group: bundles of resources reserved together (PACK, SPREAD, STRICT_PACK,
 * STRICT_SPREAD, as Ray's). Created synchronously like Ray's `placement_group(...)`: the request
 * goes out at once, and ready() waits for the reservation. Tasks name it in run/spawn options.
 */
import { groupStateSchema, type GroupState, type ResourceRequest, type Strategy } from '../protocol/api.js';
import { parseWith } from '../protocol/wire.js';
import { errorForKind, PendingTimeoutError, RayslClientError } from './errors.js';
import type { Transport } from './transport.js';

/** Server-side waits are cut into slices this long; each slice is itself event-driven. */
export const WAIT_SLICE_MS = 55_000;

function parseGroupState(x: unknown, what: string): GroupState {
  try {
    return parseWith(groupStateSchema, x, 'placement group state');
  } catch (e) {
    throw new RayslClientError(`${what}: the server sent ${(e as Error).message}`, undefined, 'protocol');
  }
}

export class PlacementGroup {
  /** The group's id, once the server has answered the create request. */
  id: string | undefined;
  private readonly created: Promise<GroupState>;
  private removed = false;

  constructor(
    private readonly transport: Transport,
    readonly bundles: ResourceRequest[],
    readonly strategy: Strategy,
  ) {
    this.created = transport.call('POST', '/v1/placement-groups', { body: { bundles, strategy } }).then(({ data }) => {
      const state = parseGroupState(data, 'create placement group');
      this.id = state.id;
      return state;
    });
    // A create that fails (e.g. infeasible) is reported by ready(), run() or remove(): not here.
    this.created.catch(() => undefined);
  }

  /** The id, waiting for the create request if needed (rejects as the create did). */
  async whenCreated(): Promise<string> {
    return (await this.created).id;
  }

  /** The state now, without waiting. */
  async state(): Promise<GroupState> {
    const id = await this.whenCreated();
    return parseGroupState(
      (await this.transport.call('GET', `/v1/placement-groups/${encodeURIComponent(id)}`)).data,
      `placement group ${id}`,
    );
  }

  /**
   * Resolves once every bundle is reserved (the state says where). Rejects with InfeasibleError
   * if no set of nodes can ever hold it, PendingTimeoutError after timeoutMs (default: wait as
   * long as it takes), or a 'removed' error if it was removed meanwhile.
   */
  async ready(o: { timeoutMs?: number } = {}): Promise<GroupState> {
    let state = await this.created;
    const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
    const path = `/v1/placement-groups/${encodeURIComponent(state.id)}`;
    for (;;) {
      if (state.state === 'ready') return state;
      if (state.state === 'removed') {
        const message = `placement group ${state.id} was removed${state.reason ? `: ${state.reason}` : this.removed ? ' (by remove())' : ''}`;
        // raysl says why (infeasible after a node left, node-lost, ...): the typed error for it
        throw state.kind !== undefined && state.kind !== 'cancelled'
          ? errorForKind(state.kind, message, undefined)
          : new RayslClientError(message, undefined, 'removed');
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new PendingTimeoutError(
          `placement group ${state.id} (${this.strategy}, ${this.bundles.length} bundle(s)) was not ready within ${o.timeoutMs} ms (the cluster's free resources do not fit it yet)`,
        );
      }
      const slice = Math.min(left, WAIT_SLICE_MS);
      const { data } = await this.transport.call('GET', `${path}?waitMs=${Math.ceil(slice)}`, {
        timeoutMs: this.transport.timeoutMs + slice,
      });
      state = parseGroupState(data, `placement group ${state.id}`);
    }
  }

  /** Frees the reservation and stops the group's tasks and services. A group whose create failed is already gone. */
  async remove(): Promise<void> {
    let id: string;
    try {
      id = await this.whenCreated();
    } catch {
      return;
    }
    this.removed = true;
    await this.transport.call('DELETE', `/v1/placement-groups/${encodeURIComponent(id)}`, { allowNotFound: true });
  }
}
