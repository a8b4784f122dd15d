/** A value settled once: the first settle wins, later ones are ignored; `promise` resolves with it. */
export class Latch<T> {
  private resolve: (v: T) => void = () => {};
  private settled: T | undefined;
  readonly promise = new Promise<T>((r) => (this.resolve = r));

  get value(): T | undefined {
    return this.settled;
  }

  /** True when this call settled it. */
  settle(v: T): boolean {
    if (this.settled !== undefined) return false;
    this.settled = v;
    this.resolve(v);
    return true;
  }
}
