/** Helpers the Slurm benches share: polling a file or probe to a deadline, reading a ms stamp. */
import { readFileSync } from 'node:fs';

/** Polls fast (5 ms, growing to 20 ms) until `probe` returns a value; fails at the deadline. */
export async function poll<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let step = 5;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, step));
    step = Math.min(step * 2, 20);
  }
}

/** A millisecond timestamp written by `date +%s%3N > file`, or undefined while it is not there. */
export function readMs(file: string): number | undefined {
  try {
    const t = readFileSync(file, 'utf8').trim();
    return t === '' ? undefined : Number(t);
  } catch {
    return undefined;
  }
}
