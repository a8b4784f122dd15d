/**
 * Pending work in submission order, bucketed by shape (same request, same target). An admission pass
 * visits items oldest first; once an item of a shape does not fit, every later item of that shape is
 * skipped for the rest of the pass (capacity only shrinks within a pass). With 10,000 identical
 * pending tasks a pass therefore costs O(placed + shapes), not O(pending).
 */
export interface PendingItem<T> {
  readonly seq: number;
  readonly key: string;
  readonly id: string;
  readonly work: T;
}

interface Bucket<T> {
  key: string;
  items: Array<PendingItem<T>>;
  head: number;
}

export class PendingQueue<T> {
  private readonly buckets = new Map<string, Bucket<T>>();
  private readonly live = new Map<string, PendingItem<T>>();
  private nextSeq = 0;

  get size(): number {
    return this.live.size;
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  push(id: string, key: string, work: T): void {
    const item: PendingItem<T> = { seq: this.nextSeq++, key, id, work };
    this.live.set(id, item);
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { key, items: [], head: 0 }));
    b.items.push(item);
  }

  /** Drops a pending item; its bucket slot is skipped lazily. */
  remove(id: string): PendingItem<T> | undefined {
    const item = this.live.get(id);
    if (item) this.live.delete(id);
    return item;
  }

  /** The live items of every shape, one list per shape, oldest first: for "can this shape still ever fit". */
  *shapes(): Generator<Array<PendingItem<T>>> {
    for (const b of [...this.buckets.values()]) {
      const items = b.items.slice(b.head).filter((it) => this.live.get(it.id) === it);
      if (items.length === 0) this.buckets.delete(b.key);
      else yield items;
    }
  }

  /**
   * One admission pass. `admit` places the item (true: it leaves the queue) or reports that it does not
   * fit now (false: its shape is done for this pass).
   */
  pass(admit: (item: PendingItem<T>) => boolean): void {
    // Buckets still in play, ordered by the seq of their oldest item; only the front one can move.
    const active: Array<{ b: Bucket<T>; head: PendingItem<T> }> = [];
    for (const b of [...this.buckets.values()]) {
      const head = this.headOf(b);
      if (head) active.push({ b, head });
    }
    active.sort((x, y) => x.head.seq - y.head.seq);
    while (active.length > 0) {
      const front = active.shift()!;
      if (!admit(front.head)) continue; // this shape is done for the pass
      this.live.delete(front.head.id);
      front.b.head++;
      const head = this.headOf(front.b);
      if (!head) continue;
      // its next item is younger: re-insert in order (binary search)
      let lo = 0;
      let hi = active.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (active[mid]!.head.seq < head.seq) lo = mid + 1;
        else hi = mid;
      }
      active.splice(lo, 0, { b: front.b, head });
    }
  }

  /** The oldest live item of a bucket, dropping cancelled ones (and the bucket once empty). */
  private headOf(b: Bucket<T>): PendingItem<T> | undefined {
    while (b.head < b.items.length && this.live.get(b.items[b.head]!.id) !== b.items[b.head]) b.head++;
    if (b.head > 1024 && b.head * 2 > b.items.length) {
      b.items = b.items.slice(b.head);
      b.head = 0;
    }
    if (b.head >= b.items.length) {
      this.buckets.delete(b.key);
      return undefined;
    }
    return b.items[b.head];
  }
}
