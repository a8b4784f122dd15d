/**
 * Tiny benchmark kit. Every benchmark measures raysl AND a baseline in the same run on the same
 * machine, then writes bench/results/<name>.json (committed, cited by the README).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

export interface Stats {
  n: number;
  minMs: number;
  medianMs: number;
  p90Ms: number;
  p95Ms: number;
  maxMs: number;
}

export function stats(samplesMs: number[]): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: s.length,
    minMs: r(s[0] ?? NaN),
    medianMs: r(at(0.5)),
    p90Ms: r(at(0.9)),
    p95Ms: r(at(0.95)),
    maxMs: r(s[s.length - 1] ?? NaN),
  };
}

/** Times a synchronous function: `warmup` untimed calls, then `iterations` timed ones. */
export function timeSync(fn: () => unknown, iterations = 50, warmup = 5): Stats {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return stats(samples);
}

/** Times an async function, one call after another. */
export async function timeAsync(fn: () => Promise<unknown>, iterations = 10, warmup = 1): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return stats(samples);
}

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function writeResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  const record = {
    name,
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    ...result,
  };
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  process.stdout.write(`${name}: ${JSON.stringify(result)}\n-> ${file}\n`);
  return file;
}

/** CPU ms (user + system) of this process's waited-for descendants so far (/proc/self/stat cutime + cstime). */
export function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10; // fields 16 and 17, in clock ticks (USER_HZ = 100 on Linux)
}
