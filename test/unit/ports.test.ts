import { describe, expect, it } from 'vitest';
import { type RayslError, UsageError } from '../../src/core/errors.js';
import {
  allocatePortBlock,
  blocksOverlap,
  candidateBases,
  describeLayout,
  formatPortRecord,
  GRANULARITY,
  hashJobId,
  layoutProblems,
  layoutRows,
  parsePortRecord,
  PortBlockUnavailableError,
  portLayout,
  portRange,
  portsOf,
  rangeProblems,
  rangesOf,
  rayDefaultProblems,
  RAY_DEFAULT_PORTS,
  withPortRecord,
  appPortsEnv,
} from '../../src/core/ports.js';
import type { PortBlock } from '../../src/core/types.js';

const RAY_NAMES = [
  'controller',
  'gcs',
  'node_manager',
  'object_manager',
  'ray_client_server',
  'dashboard',
  'dashboard_grpc',
  'dashboard_agent_grpc',
  'dashboard_agent_listen',
  'metrics_export',
  'runtime_env_agent',
  'autoscaler_metrics',
  'dashboard_metrics',
  'serve_http',
  'serve_grpc',
  'serve_fallback_http',
  'serve_fallback_grpc',
];
const LINUX_DEFAULT: [number, number] = [32768, 60999];
const range = portRange(LINUX_DEFAULT);

describe('portLayout', () => {
  it.each([
    // cpus, worker ports, block size
    [1, 64, 128],
    [4, 64, 128],
    [16, 64, 128],
    [17, 68, 128],
    [32, 128, 192],
    [64, 256, 320],
    [128, 512, 576],
    [256, 1024, 1088],
    [1024, 1024, 1088],
  ])('ray with %i CPUs: %i worker ports, block of %i', (cpus, workers, size) => {
    const l = portLayout('ray', cpus);
    expect(l.size).toBe(size);
    expect(l.ranges.worker!.count).toBe(workers);
    expect(l.ranges.app!.count).toBe(8);
    expect(Object.keys(l.ports).sort()).toEqual([...RAY_NAMES].sort());
    expect(l.size % GRANULARITY).toBe(0);
    expect(layoutProblems(l)).toEqual([]);
  });

  it.each([1, 4, 128])(
    'builtin with %i CPUs: controller, agent, 8 app ports, 32 service ports, one granule',
    (cpus) => {
      const l = portLayout('builtin', cpus);
      expect(l).toEqual({
        size: 64,
        ports: { controller: 0, agent: 1 },
        ranges: { app: { offset: 8, count: 8 }, service: { offset: 16, count: 32 } },
      });
      expect(layoutProblems(l)).toEqual([]);
    },
  );

  it.each([0, -1, 2.5, Number.NaN])('refuses %s CPUs with a usage error', (cpus) => {
    expect(() => portLayout('ray', cpus)).toThrow(UsageError);
    expect(() => portLayout('ray', cpus)).toThrow(/positive whole number, received/);
  });

  it('refuses an unknown runtime', () => {
    expect(() => portLayout('spark' as never, 4)).toThrow(/expected "ray" or "builtin", received "spark"/);
  });
});

describe('portsOf / rangesOf / describer', () => {
  it('gives concrete ports from a base', () => {
    const l = portLayout('ray', 4);
    expect(portsOf(20480, l)).toMatchObject({ controller: 20480, gcs: 20481, runtime_env_agent: 20490 });
    expect(portsOf(20480, l)).toMatchObject({
      serve_http: 20493,
      serve_grpc: 20494,
      serve_fallback_http: 20495,
      serve_fallback_grpc: 20496,
    });
    expect(rangesOf(20480, l)).toEqual({ app: [20497, 20504], worker: [20505, 20568] });
  });

  it('lists rows by offset and prints a table', () => {
    const l = portLayout('builtin', 1);
    expect(layoutRows(l, 20032)).toEqual([
      { name: 'controller', offset: 0, count: 1, first: 20032, last: 20032 },
      { name: 'agent', offset: 1, count: 1, first: 20033, last: 20033 },
      { name: 'app', offset: 8, count: 8, first: 20040, last: 20047 },
      { name: 'service', offset: 16, count: 32, first: 20048, last: 20079 },
    ]);
    const text = describeLayout(l, 20032);
    expect(text).toContain('app         8-15    8      20040-20047');
    expect(text).toContain('block 20032-20095 (64 ports)');
    expect(describeLayout(l)).toContain('block size 64');
  });
});

describe('layoutProblems', () => {
  it.each([
    [{ size: 64, ports: { a: 0, b: 0 }, ranges: {} }, /a \(offsets 0-0\) overlaps b/],
    [
      { size: 64, ports: { a: 3 }, ranges: { w: { offset: 2, count: 4 } } },
      /a \(offsets 3-3\) overlaps w range \(offsets 2-5\)/,
    ],
    [
      { size: 16, ports: {}, ranges: { w: { offset: 8, count: 9 } } },
      /w range \(offsets 8-16\) lies outside the block of 16/,
    ],
  ])('finds %j', (layout, message) => {
    const problems = layoutProblems(layout);
    expect(problems.map((p) => p.message).join('\n')).toMatch(message);
  });
});

describe('portRange and range checks', () => {
  it.each([
    [[32768, 60999], { min: 20000, max: 32767 }],
    [[49152, 65535], { min: 20000, max: 49151 }],
    [[20000, 60999], { min: 20000, max: 19999 }],
  ] as Array<[[number, number], { min: number; max: number }]>)('ephemeral %j -> %j', (eph, expected) => {
    expect(portRange(eph)).toEqual(expected);
  });

  it('flags a block in the ephemeral range, below 20000, and over Ray defaults', () => {
    expect(rangeProblems({ base: 32704, size: 128 }, LINUX_DEFAULT)[0]!.message).toMatch(
      /overlaps the kernel's ephemeral range 32768-60999/,
    );
    expect(rangeProblems({ base: 20032, size: 128 }, LINUX_DEFAULT)).toEqual([]);
    expect(rangeProblems({ base: 19968, size: 64 }, LINUX_DEFAULT).map((p) => p.kind)).toEqual(['range']);
    expect(rayDefaultProblems({ base: 52352, size: 64 })[0]!.message).toMatch(
      /covers Ray dashboard agent http \(52365\)/,
    );
    expect(rayDefaultProblems({ base: 20032, size: 1088 })).toEqual([]);
  });
});

describe('allocatePortBlock', () => {
  it.each(['1', '12345', 'next', 'job-with-a-long-name'])(
    'is deterministic for job id %s and sits aligned inside the range',
    (jobId) => {
      const a = allocatePortBlock({ jobId, size: 128, range, taken: [] });
      const b = allocatePortBlock({ jobId, size: 128, range, taken: [] });
      expect(a).toEqual(b);
      expect(a.base % GRANULARITY).toBe(0);
      expect(a.base).toBeGreaterThanOrEqual(range.min);
      expect(a.base + a.size - 1).toBeLessThanOrEqual(range.max);
      expect(rangeProblems(a, LINUX_DEFAULT)).toEqual([]);
      expect(rayDefaultProblems(a)).toEqual([]);
    },
  );

  it('spreads different job ids over different first slots', () => {
    const bases = new Set(
      Array.from(
        { length: 50 },
        (_, i) => allocatePortBlock({ jobId: String(1000 + i), size: 128, range, taken: [] }).base,
      ),
    );
    expect(bases.size).toBeGreaterThan(30);
  });

  it('hashes with FNV-1a (stable across machines)', () => {
    expect(hashJobId('')).toBe(0x811c9dc5);
    expect(hashJobId('a')).toBe(0xe40c292c);
  });

  it('walks past a taken block to the next slot', () => {
    const first = allocatePortBlock({ jobId: '42', size: 128, range, taken: [] });
    const next = allocatePortBlock({ jobId: '42', size: 128, range, taken: [first] });
    expect(blocksOverlap(first, next)).toBe(false);
  });

  it.each([64, 128, 320, 1088])('stays disjoint from many taken blocks of mixed sizes (size %i)', (size) => {
    const taken: PortBlock[] = [];
    // fill the range with jobs of mixed sizes, each allocated against all before it
    const sizes = [64, 128, 320, 1088];
    for (let i = 0; i < 30; i++) {
      try {
        taken.push(allocatePortBlock({ jobId: `j${i}`, size: sizes[i % 4]!, range, taken }));
      } catch (e) {
        expect(e).toBeInstanceOf(PortBlockUnavailableError);
      }
    }
    for (let i = 0; i < taken.length; i++)
      for (let j = i + 1; j < taken.length; j++) expect(blocksOverlap(taken[i]!, taken[j]!)).toBe(false);
    try {
      const mine = allocatePortBlock({ jobId: 'mine', size, range, taken });
      expect(taken.some((t) => blocksOverlap(t, mine))).toBe(false);
    } catch (e) {
      expect((e as Error).message).toMatch(/all \d+ slots overlap/);
    }
  });

  it('refuses when every slot is taken, with counts', () => {
    const { first, count } = candidateBases(64, range);
    const taken = Array.from({ length: count }, (_, i) => ({ base: first + i * 64, size: 64 }));
    let err: unknown;
    try {
      allocatePortBlock({ jobId: '7', size: 64, range, taken });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PortBlockUnavailableError);
    expect((err as RayslError).exitCode).toBe(1);
    expect((err as RayslError).message).toBe(
      `no free port block of 64 ports in 20000-32767: all ${count} slots overlap the ${count} block(s) other raysl jobs hold on these nodes (${count} taken in total)`,
    );
    expect((err as RayslError).hint).toMatch(/wait for a raysl job/);
  });

  it('refuses when the range is too small for the block', () => {
    const tiny = portRange([21000, 60999]);
    expect(() => allocatePortBlock({ jobId: '1', size: 1088, range: tiny, taken: [] })).toThrow(
      'a port block of 1088 ports does not fit in 20000-20999 (1000 ports between 20000 and the start of the ephemeral range)',
    );
    expect(() => allocatePortBlock({ jobId: '1', size: 64, range: portRange([20000, 60999]), taken: [] })).toThrow(
      /\(0 ports between/,
    );
  });

  it('skips Ray defaults when the range reaches them', () => {
    // an ephemeral range that starts at 61000 opens 20000-60999, which holds 44217, 44227 and 52365
    const wide = portRange([61000, 65535]);
    const taken: PortBlock[] = [];
    for (let i = 0; i < 1000; i++) {
      try {
        taken.push(allocatePortBlock({ jobId: `w${i}`, size: 64, range: wide, taken }));
      } catch {
        break;
      }
    }
    expect(taken.length).toBe(candidateBases(64, wide).count - 3);
    expect(taken.flatMap((b) => rayDefaultProblems(b))).toEqual([]);
  });

  it('refuses a nonsense size as an internal error', () => {
    expect(() => allocatePortBlock({ jobId: '1', size: 0, range, taken: [] })).toThrow(
      /positive whole number, received 0/,
    );
  });
});

describe('port record in the Slurm Comment', () => {
  it.each([
    [{ base: 20480, size: 128 }, 'raysl:ports=20480-20607'],
    [{ base: 20032, size: 64 }, 'raysl:ports=20032-20095'],
  ])('round trips %j', (block, text) => {
    expect(formatPortRecord(block)).toBe(text);
    expect(parsePortRecord(text)).toEqual(block);
  });

  it.each([
    ['owner=alice raysl:ports=20480-20607 note', { base: 20480, size: 128 }],
    ['x,raysl:ports=20032-20095', { base: 20032, size: 64 }],
    ['', undefined],
    ['(null)', undefined],
    ['raysl:ports=20607-20480', undefined],
    ['raysl:ports=60000-70000', undefined],
    ['myraysl:ports=20480-20607', undefined],
    ['raysl:ports=20480', undefined],
  ])('parses %j', (text, expected) => {
    expect(parsePortRecord(text)).toEqual(expected);
  });

  it('replaces an old record and keeps other text', () => {
    expect(withPortRecord('', { base: 20032, size: 64 })).toBe('raysl:ports=20032-20095');
    expect(withPortRecord('owner=alice raysl:ports=1-2', { base: 20032, size: 64 })).toBe(
      'owner=alice raysl:ports=20032-20095',
    );
  });
});

describe('Ray defaults list', () => {
  it('names the defaults the brief asks to avoid', () => {
    const covered = (p: number) => RAY_DEFAULT_PORTS.some((d) => d.first <= p && p <= d.last);
    for (const p of [6379, 8265, 10001, 8076, 8077, 10002, 19999]) expect(covered(p)).toBe(true);
    expect(range.min).toBeGreaterThan(19999);
  });
});

describe('appPortsEnv', () => {
  it('names the app range of the block for the entrypoint and node commands', () => {
    expect(appPortsEnv(20480, portLayout('builtin', 4))).toEqual({ RAYSL_APP_PORTS: '20488-20495' });
    expect(appPortsEnv(20480, portLayout('ray', 4))).toEqual({ RAYSL_APP_PORTS: '20497-20504' });
    expect(appPortsEnv(20480, { size: 1, ports: { controller: 0 }, ranges: {} })).toEqual({});
  });
});
