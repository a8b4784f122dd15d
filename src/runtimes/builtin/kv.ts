/**
 * The builtin runtime's key-value store for rendezvous (lives in the controller). A get may wait
 * for a key to appear: the waiter is woken by the put itself, never by polling.
 */
export class KvStore {
  private readonly values = new Map<string, string>();
  private readonly waiters = new Map<string, Array<(v: string | undefined) => void>>();

  put(key: string, value: string): void {
    this.values.set(key, value);
    const ws = this.waiters.get(key);
    this.waiters.delete(key);
    for (const w of ws ?? []) w(value);
  }

  /** The value, waiting up to waitMs for a put; undefined when absent at the deadline. */
  get(key: string, waitMs = 0): Promise<string | undefined> {
    const v = this.values.get(key);
    if (v !== undefined || waitMs <= 0) return Promise.resolve(v);
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      const timer = setTimeout(() => {
        const cur = this.waiters.get(key);
        if (cur)
          this.waiters.set(
            key,
            cur.filter((w) => w !== wake),
          );
        resolve(undefined);
      }, waitMs);
      timer.unref();
      const wake = (value: string | undefined) => {
        clearTimeout(timer);
        resolve(value);
      };
      list.push(wake);
      this.waiters.set(key, list);
    });
  }

  /** Wakes every waiter with "absent" (the job is ending). */
  close(): void {
    for (const ws of this.waiters.values()) for (const w of ws) w(undefined);
    this.waiters.clear();
  }

  get size(): number {
    return this.values.size;
  }
}
