/**
 * A service's own port: one of the `service` range of the job's block on its node. A port free on
 * every node is preferred, so that services stay apart even where simulated nodes share one
 * host's port space (run --local) and whatever address the service binds.
 */
export class ServicePorts {
  private readonly used = new Map<string, Set<number>>();

  constructor(private readonly count: number) {}

  /** The offset (0..count-1) taken on node, or undefined when the node has none left. */
  take(node: string): number | undefined {
    const mine = this.used.get(node) ?? new Set<number>();
    const anywhere = new Set([...this.used.values()].flatMap((s) => [...s]));
    let pick: number | undefined;
    for (let k = 0; k < this.count && pick === undefined; k++) if (!anywhere.has(k)) pick = k;
    for (let k = 0; k < this.count && pick === undefined; k++) if (!mine.has(k)) pick = k;
    if (pick === undefined) return undefined;
    mine.add(pick);
    this.used.set(node, mine);
    return pick;
  }

  give(node: string, offset: number): void {
    this.used.get(node)?.delete(offset);
  }
}
