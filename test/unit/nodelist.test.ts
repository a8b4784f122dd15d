// Table-driven tests of the hostlist parser. Expected outputs were produced by Debian 12's
// `scontrol show hostnames|hostlistsorted|hostlist` (slurm 22.05.8) unless marked "raysl only".
import { describe, expect, it, vi } from 'vitest';
import { memIo } from '../support/mem-io.js';
import {
  compressHostlist,
  sameHosts,
  compressHostlistUnsorted,
  DELIBERATE_DIFFERENCES,
  expandHostlist,
  HostlistSyntaxError,
  MAX_RANGE,
  strnatcmp,
} from '../../src/core/nodelist.js';
import { UsageError } from '../../src/core/errors.js';
import { runCli } from '../../src/cli/main.js';

// RAYSL_VERSION is injected by the bundler; src/cli/main.ts needs it before the imports run.
vi.hoisted(() => {
  (globalThis as { RAYSL_VERSION?: string }).RAYSL_VERSION ??= '0.0.0-test';
});

describe('expandHostlist: Slurm documentation examples', () => {
  // scontrol(1), "show hostnames": "tux[1-3]" -> tux1 tux2 tux3; slurm.conf(5) NodeName
  // "linux[0-64,128]" and "lx[10-20]"; the hostlist.h header's "lx[15,18,32-33]".
  it.each([
    ['tux[1-3]', ['tux1', 'tux2', 'tux3']],
    ['lx[15,18,32-33]', ['lx15', 'lx18', 'lx32', 'lx33']],
    ['alpha,beta,gamma', ['alpha', 'beta', 'gamma']],
    ['rack[0-1]_blade[0-1]', ['rack0_blade0', 'rack0_blade1', 'rack1_blade0', 'rack1_blade1']],
  ])('%s', (input, want) => expect(expandHostlist(input)).toEqual(want));

  it('linux[0-64,128] has 66 hosts ending in linux128', () => {
    const hosts = expandHostlist('linux[0-64,128]');
    expect(hosts).toHaveLength(66);
    expect(hosts.at(-1)).toBe('linux128');
    expect(hosts[10]).toBe('linux10');
  });
});

describe('expandHostlist: grammar', () => {
  it.each([
    // padding: the width is the length of the lower bound as written
    ['n[08-11]', ['n08', 'n09', 'n10', 'n11']],
    ['n[8-011]', ['n8', 'n9', 'n10', 'n11']],
    ['gpu-[001-003]', ['gpu-001', 'gpu-002', 'gpu-003']],
    ['n[098-101]', ['n098', 'n099', 'n100', 'n101']],
    ['n[1,01,001]', ['n1', 'n01', 'n001']],
    // several brackets: the last varies fastest, then the first, second, ... (hostlist.c _push_range_list)
    ['a[1-2]-b[3-4]', ['a1-b3', 'a1-b4', 'a2-b3', 'a2-b4']],
    ['r[1-2]n[1-2]', ['r1n1', 'r1n2', 'r2n1', 'r2n2']],
    ['a[1-2]b[3-4]c[5-6]', ['a1b3c5', 'a1b3c6', 'a2b3c5', 'a2b3c6', 'a1b4c5', 'a1b4c6', 'a2b4c5', 'a2b4c6']],
    ['x[1][2][3]', ['x123']],
    // IP-like names
    ['10.0.0.[1-3]', ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    ['10.0.[0-1].[7,9]', ['10.0.0.7', '10.0.0.9', '10.0.1.7', '10.0.1.9']],
    ['ip-10-0-0-[5-6]', ['ip-10-0-0-5', 'ip-10-0-0-6']],
    // separators: commas and whitespace, repeated, leading and trailing; empty items skipped
    ['a,,b  c\td', ['a', 'b', 'c', 'd']],
    [' ,n[1-2], ', ['n1', 'n2']],
    ['a\nb\r\nc', ['a', 'b', 'c']], // raysl only: Slurm splits on ' ', '\t', ',' alone
    ['', []],
    [', \t', []],
    // order and duplicates are kept
    ['n3,n1,n2', ['n3', 'n1', 'n2']],
    ['n[1-2],n[1-2]', ['n1', 'n2', 'n1', 'n2']],
    ['n[3,1,2,1]', ['n3', 'n1', 'n2', 'n1']],
    // a bracket without prefix, plain names with digits kept verbatim
    ['[1-3]', ['1', '2', '3']],
    ['node007,n0', ['node007', 'n0']],
  ])('%j', (input, want) => expect(expandHostlist(input)).toEqual(want));

  it(`accepts ${MAX_RANGE} hosts in one range, like Slurm's MAX_RANGE`, () => {
    const hosts = expandHostlist(`n[1-${MAX_RANGE}]`);
    expect(hosts).toHaveLength(MAX_RANGE);
    expect(hosts[0]).toBe('n1');
    expect(hosts.at(-1)).toBe(`n${MAX_RANGE}`);
    expect(expandHostlist('n[0-65535]')).toHaveLength(65536);
  });
});

/** [input, kind, column] */
const malformed: [string, string, number][] = [
  ['node[1-2', 'unclosed-bracket', 5],
  ['n[1,2', 'unclosed-bracket', 2],
  ['n[1[2]', 'unclosed-bracket', 2],
  ['ip[-10-0-[83]', 'unclosed-bracket', 3],
  ['node]', 'stray-bracket', 5],
  ['n[1]]', 'stray-bracket', 5],
  ['n[]', 'empty-range', 3],
  ['n[1,,2]', 'empty-range', 5],
  ['n[1,]', 'empty-range', 5],
  ['n[1-]', 'open-range', 4],
  ['n[-2]', 'open-range', 3],
  ['n[3-1]', 'reversed-range', 3],
  ['n[1,10-9]', 'reversed-range', 5],
  ['n[1-2-3]', 'malformed-range', 6],
  ['n[1--2]', 'malformed-range', 5],
  ['n[1a-3]', 'bad-range-char', 4],
  ['n[ 1]', 'bad-range-char', 3],
  ['n[+1]', 'bad-range-char', 3],
  ['n[1x2]', 'bad-range-char', 4],
  ['n[1-2]x', 'text-after-bracket', 7],
  ['a[1]b[2]c', 'text-after-bracket', 9],
  ['n[0-65536]', 'range-too-large', 3],
  ['a[1-40000,1-40000]b[1]', 'range-too-large', 1],
  ['n[9007199254740993]', 'number-too-large', 3],
  ['a[3-1]b[1]c[1],d', 'dropped-by-slurm', 3],
  ['a[1-65536]b[1-65536]', 'too-many-hosts', 1],
];

describe('expandHostlist: malformed input', () => {
  it.each(malformed)('%j is refused (%s at column %i)', (input, kind, column) => {
    let caught: unknown;
    try {
      expandHostlist(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HostlistSyntaxError);
    const err = caught as HostlistSyntaxError;
    expect({ kind: err.kind, column: err.column }).toEqual({ kind, column });
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.details).toEqual({ input, column, kind });
    expect(err.hint).toMatch(/\S/);
    // the message shows the input and a caret under the column
    const lines = err.message.split('\n');
    expect(lines[1]).toBe(`  ${input}`);
    expect(lines[2]).toBe(`  ${' '.repeat(column - 1)}^`);
  });

  it('covers every error kind in the tables', () => {
    const kinds = new Set(malformed.map((m) => m.at(1)));
    for (const d of DELIBERATE_DIFFERENCES) expect(kinds.has(d.kind)).toBe(true);
    expect(kinds.size).toBe(12);
  });

  it('documents each deliberate difference with an example raysl refuses', () => {
    for (const d of DELIBERATE_DIFFERENCES) {
      expect(() => expandHostlist(d.example), d.example).toThrow(HostlistSyntaxError);
      expect(d.why).toMatch(/\S/);
    }
  });
});

describe('compressHostlist (scontrol show hostlistsorted)', () => {
  it.each([
    [['n1', 'n2', 'n3'], 'n[1-3]'],
    [['node3', 'node1', 'node2', 'gpu-01'], 'gpu-01,node[1-3]'],
    [['n10', 'n9', 'n1', 'n2'], 'n[1-2,9-10]'],
    [['n3', 'n1', 'n2', 'a', 'n[1-5]'], 'a,n[1,1-2,2-3,3-5]'], // duplicates kept, split
    [['n[1-2],n[1-2]'], 'n[1,1-2,2]'],
    [['n08', 'n09', 'n10'], 'n[08-10]'],
    [['n8', 'n9', 'n10'], 'n[8-10]'],
    [['n1', 'n01', 'n001'], 'n[1,01,001]'],
    // natural order of prefixes (Slurm's strnatcmp), reference/slurm-on-one-host.md 3.5
    [
      ['x', 'rack2-n3', 'rack1-n2', 'rack1-n1', 'n11', 'n10', 'n09', 'b3', 'a2', 'a1'],
      'a[1-2],b3,n[09-11],rack1-n[1-2],rack2-n3,x',
    ],
    [['r10n1', 'r2n1', 'r1n1'], 'r1n1,r2n1,r10n1'],
    [['a[1-2]b[3-4]c[5-6]'], 'a1b3c[5-6],a1b4c[5-6],a2b3c[5-6],a2b4c[5-6]'],
    [['10.0.0.2', '10.0.0.1'], '10.0.0.[1-2]'],
    [[], ''],
  ])('%j -> %s', (hosts, want) => expect(compressHostlist(hosts)).toBe(want));

  it('round-trips a large range quickly', () => {
    const hosts = expandHostlist(`n[1-${MAX_RANGE}]`);
    expect(compressHostlist(hosts.reverse())).toBe(`n[1-${MAX_RANGE}]`);
  });
});

describe('compressHostlistUnsorted (scontrol show hostlist)', () => {
  it.each([
    [['n3', 'n1', 'n2'], 'n[3,1-2]'],
    [['n3', 'n1', 'n2', 'a', 'n[1-5]'], 'n[3,1-2],a,n[1-5]'],
    [['a[1-2]b[3-4]c[5-6]'], 'a1b3c[5-6],a2b3c[5-6],a1b4c[5-6],a2b4c[5-6]'],
    [['n[1-2],n[1-2]'], 'n[1-2,1-2]'],
    [['b', 'a'], 'b,a'],
  ])('%j -> %s', (hosts, want) => expect(compressHostlistUnsorted(hosts)).toBe(want));

  it('reports a malformed element with that element as input', () => {
    expect(() => compressHostlistUnsorted(['n1', 'n[2'])).toThrow(expect.objectContaining({ input: 'n[2', column: 2 }));
  });
});

describe('strnatcmp (Slurm src/common/strnatcmp.c)', () => {
  it.each([
    ['n2', 'n10', -1],
    ['n10', 'n2', 1],
    ['n01', 'n1', -1],
    ['rack1-n', 'rack10-n', -1],
    ['a', 'a', 0],
    ['a', 'b', -1],
    ['', 'a', -1],
  ])('%s vs %s -> %i', (a, b, want) => expect(Math.sign(strnatcmp(a, b))).toBe(want));
});

describe('raysl hostnames / raysl hostlist (in-process CLI)', () => {
  it('hostnames prints one host per line, like scontrol show hostnames', async () => {
    const io = memIo();
    expect(await runCli(['hostnames', 'gpu-[01-02],n[9-10]'], io)).toBe(0);
    expect(io.out()).toBe('gpu-01\ngpu-02\nn9\nn10\n');
  });

  it('hostnames --json prints an array; without argument it reads SLURM_JOB_NODELIST', async () => {
    const io = memIo({ env: { SLURM_JOB_NODELIST: 'node[1-2]' } });
    expect(await runCli(['--json', 'hostnames'], io)).toBe(0);
    expect(JSON.parse(io.out())).toEqual(['node1', 'node2']);
  });

  it('hostnames exits 2 on malformed input, with the input, a caret and a hint', async () => {
    const io = memIo();
    expect(await runCli(['hostnames', 'node[1-2'], io)).toBe(2);
    expect(io.out()).toBe('');
    expect(io.err()).toContain('column 5');
    expect(io.err()).toContain('  node[1-2\n      ^');
    expect(io.err()).toMatch(/hint: add the missing '\]'/);
  });

  it('hostnames --json reports the error as JSON with input and column', async () => {
    const io = memIo();
    expect(await runCli(['hostnames', '--json', 'n[3-1]'], io)).toBe(2);
    expect(JSON.parse(io.out())).toMatchObject({
      error: { exitCode: 2, input: 'n[3-1]', column: 3, kind: 'reversed-range' },
    });
  });

  it('hostnames without input outside a job is a usage error', async () => {
    const io = memIo();
    expect(await runCli(['hostnames'], io)).toBe(2);
    expect(io.err()).toMatch(/SLURM_JOB_NODELIST/);
  });

  it('hostlist sorts like hostlistsorted; --unsorted keeps the order; --json adds the count', async () => {
    let io = memIo();
    expect(await runCli(['hostlist', 'node3', 'node1', 'node2', 'gpu-01'], io)).toBe(0);
    expect(io.out()).toBe('gpu-01,node[1-3]\n');
    io = memIo();
    expect(await runCli(['hostlist', '--unsorted', 'n3', 'n1', 'n2'], io)).toBe(0);
    expect(io.out()).toBe('n[3,1-2]\n');
    io = memIo();
    expect(await runCli(['hostlist', '--json', 'n[1-4]', 'n6'], io)).toBe(0);
    expect(JSON.parse(io.out())).toEqual({ hostlist: 'n[1-4,6]', count: 5 });
  });

  it('both commands have an Examples section in --help', async () => {
    for (const cmd of ['hostnames', 'hostlist']) {
      const io = memIo();
      expect(await runCli([cmd, '--help'], io)).toBe(0);
      expect(io.out()).toMatch(/Examples:\n {2}\$ raysl /);
    }
  });
});

describe('compressHostlist never loses a host', () => {
  // scontrol show hostlistsorted prints 86 of these 122 hosts (slurm 22.05.8): a bug raysl does not copy.
  it.each(['r2n[92-102,28-136,015-16]', 'r2n[65-318,88-790,049-52]', 'n[1-2],n[1-2]', 'a[1-5],a[3-9],a[2-4]'])(
    '%s',
    (input) => {
      const hosts = expandHostlist(input);
      expect(sameHosts(expandHostlist(compressHostlist([input])), hosts)).toBe(true);
      expect(sameHosts(expandHostlist(compressHostlist([...hosts].reverse())), hosts)).toBe(true);
    },
  );
  it('sameHosts compares multisets', () => {
    expect(sameHosts(['a', 'b', 'a'], ['a', 'a', 'b'])).toBe(true);
    expect(sameHosts(['a', 'b'], ['a', 'a'])).toBe(false);
    expect(sameHosts(['a'], ['a', 'a'])).toBe(false);
  });
});
