/**
 * Expanding nodelists: raysl's expandHostlist vs. two baselines measured in the same run:
 * `scontrol show hostnames` (process included, as a job script would call it; stub config, no
 * daemons) when scontrol is installed, and a naive regex + array-spread expander.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressHostlist, expandHostlist } from '../src/core/nodelist.js';
import { timeSync, writeResult, type Stats } from './lib.js';

const CASES = {
  'n[1-65536]': 'n[1-65536]',
  mixed: 'gpu-[001-128],rack[1-4]-n[01-32],cpu[1-500,600-999],login1,10.0.0.[1-254],a[1-4]b[1-8]c[1-16]',
} as const;

/** The obvious implementation: one regex per bracket, cartesian product by repeated flatMap. */
function naiveExpand(input: string): string[] {
  return input
    .split(/,(?![^[]*\])/)
    .filter(Boolean)
    .flatMap((item) => {
      let names = [''];
      for (const part of item.split(/(\[[^\]]*\])/).filter(Boolean)) {
        if (!part.startsWith('[')) {
          names = names.map((n) => n + part);
          continue;
        }
        const values = part
          .slice(1, -1)
          .split(',')
          .flatMap((r) => {
            const [lo, hi = lo] = r.split('-') as [string, string?];
            return Array.from({ length: Number(hi) - Number(lo) + 1 }, (_, i) =>
              String(Number(lo) + i).padStart(lo.length, '0'),
            );
          });
        names = names.flatMap((n) => values.map((v) => n + v));
      }
      return names;
    });
}

function scontrolBaseline(): ((input: string) => Stats) | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'raysl-bench-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'slurm.conf');
  // scontrol refuses to start without a config (and waits 60 s on a missing one): give it a stub
  writeFileSync(conf, `ClusterName=stub\nSlurmctldHost=${hostname().split('.')[0]}(127.0.0.1)\n`);
  const env = { PATH: process.env.PATH, SLURM_CONF: conf };
  try {
    execFileSync('scontrol', ['show', 'hostnames', 'n1'], { env, stdio: 'ignore', timeout: 10_000 });
  } catch {
    return undefined;
  }
  return (input) =>
    timeSync(() => execFileSync('scontrol', ['show', 'hostnames', input], { env, maxBuffer: 64 << 20 }), 20, 2);
}

const scontrol = scontrolBaseline();
const results: Record<string, unknown> = {};
for (const [name, input] of Object.entries(CASES)) {
  const hosts = expandHostlist(input).length;
  if (naiveExpand(input).length !== hosts) throw new Error(`naive baseline disagrees on ${name}`);
  results[name] = {
    hosts,
    raysl: timeSync(() => expandHostlist(input), 100, 10),
    naive: timeSync(() => naiveExpand(input), 100, 10),
    scontrol: scontrol ? scontrol(input) : 'scontrol not installed',
  };
}
const big = expandHostlist(CASES['n[1-65536]']).reverse();
results['compress 65536 reversed hosts'] = { raysl: timeSync(() => compressHostlist(big), 30, 3) };
writeResult('nodelist', { targetMs: 'n[1-65536] median well under 20 ms', ...results });
