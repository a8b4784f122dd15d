import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memIo } from '../support/mem-io.js';
import { SlurmError, UsageError } from '../../src/core/errors.js';
import { gatherFacts, localFacts } from '../../src/cli/facts.js';
import type { SlurmExec } from '../../src/slurm/exec.js';
import { gpusInGres, parseSinfoNodes, sinfoNodesArgv } from '../../src/slurm/sinfo.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sinfo/${name}`, import.meta.url), 'utf8');

/** A sinfo stand-in for the runner seam only (the parser is tested on recorded output above). */
function fakeSinfo(nodesOut: string, opts: { fail?: string } = {}): SlurmExec {
  return async ({ argv }) => {
    if (opts.fail) return { stdout: '', stderr: opts.fail, exitCode: 1 };
    return argv.includes('--version')
      ? { stdout: 'slurm 23.11.4\n', stderr: '', exitCode: 0 }
      : { stdout: nodesOut, stderr: '', exitCode: 0 };
  };
}

describe('gpusInGres', () => {
  it.each([
    ['gpu:4', 4],
    ['gpu:a100:8', 8],
    ['gpu:a100:8(S:0-1)', 8],
    ['gpu:a100:8(S:0,1)', 8],
    ['gpu:2,gpu:tesla:2', 4],
    ['gpu:4,nvme:1', 4],
    ['nvme:1', 0],
    ['(null)', 0],
    ['', 0],
    ['gpu', 1],
    ['gpu:tesla', 1],
    ['mps:100,gpu:1', 1],
  ])('%s -> %d', (gres, n) => expect(gpusInGres(gres)).toBe(n));
});

describe('parseSinfoNodes', () => {
  it('reads the recorded 4-node test cluster', () => {
    const r = parseSinfoNodes(fixture('lab-4node.txt'));
    expect(r.defaultPartition).toBe('debug');
    expect(r.partitions).toEqual(['debug']);
    expect(r.nodes.map((n) => n.name)).toEqual(['node1', 'node2', 'node3', 'node4']);
    expect(r.nodes[0]).toEqual({
      name: 'node1',
      cpus: 4,
      memoryMb: 4096,
      gpus: 4,
      gres: 'gpu:4',
      state: 'idle',
      partitions: ['debug'],
      features: [],
    });
  });

  it('merges a node listed in two partitions and keeps features and states', () => {
    const r = parseSinfoNodes(fixture('site-multi.txt'));
    expect(r.defaultPartition).toBe('cpu');
    expect(r.partitions).toEqual(['cpu', 'gpu', 'shared']);
    const a01 = r.nodes.find((n) => n.name === 'gpu-a01')!;
    expect(a01.partitions).toEqual(['gpu', 'shared']);
    expect(a01.features).toEqual(['a100', 'ib']);
    expect(a01.gpus).toBe(8);
    expect(r.nodes.find((n) => n.name === 'cpu-003')!.state).toBe('down*');
    expect(r.nodes.find((n) => n.name === 'gpu-t01')!.gpus).toBe(4);
    expect(r.nodes).toHaveLength(11 - 1);
  });

  it('refuses a line in an unexpected format, naming the line', () => {
    expect(() => parseSinfoNodes('node1 debug* 4 4096\n')).toThrow(/sinfo line 1: expected 7/);
    expect(() => parseSinfoNodes('node1 debug* 4 4096\n')).toThrow(SlurmError);
  });

  it('builds a format it can parse', () => {
    expect(sinfoNodesArgv()).toEqual(['sinfo', '--noheader', '--Node', '--format', '%N|%P|%c|%m|%G|%t|%f']);
  });
});

describe('gatherFacts', () => {
  it('uses the default partition when none is asked for', async () => {
    const f = await gatherFacts({ exec: fakeSinfo(fixture('site-multi.txt')) }, memIo());
    expect(f.source).toBe('sinfo');
    expect(f.partition).toBe('cpu');
    expect(f.slurmVersion).toBe('23.11.4');
    expect(f.nodes.map((n) => n.name)).toEqual(['cpu-001', 'cpu-002', 'cpu-003']);
    expect(f.ephemeralPortRange[0]).toBeLessThanOrEqual(f.ephemeralPortRange[1]);
  });

  it('keeps only the asked partition', async () => {
    const f = await gatherFacts({ partition: 'shared', exec: fakeSinfo(fixture('site-multi.txt')) }, memIo());
    expect(f.nodes.map((n) => n.name)).toEqual(['gpu-a01', 'gpu-s01']);
  });

  it('names the partitions that exist when asked for one that does not', async () => {
    const p = gatherFacts({ partition: 'gpuz', exec: fakeSinfo(fixture('site-multi.txt')) }, memIo());
    await expect(p).rejects.toThrow(UsageError);
    await expect(p).rejects.toThrow(/"gpuz" does not exist \(sinfo lists: cpu, gpu, shared\)/);
  });

  it('turns a failing sinfo into a SlurmError whose hint offers --no-check', async () => {
    const err = await gatherFacts(
      { exec: fakeSinfo('', { fail: 'sinfo: error: Unable to contact slurm controller' }) },
      memIo(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlurmError);
    expect((err as SlurmError).hint).toMatch(/--no-check/);
  });

  it('--no-check asks nothing and warns', async () => {
    const io = memIo();
    const f = await gatherFacts({ noCheck: true, partition: 'gpu', exec: fakeSinfo('', { fail: 'must not run' }) }, io);
    expect(f).toMatchObject({ source: 'none', partition: 'gpu', nodes: [] });
    expect(io.err()).toMatch(/--no-check/);
  });
});

describe('localFacts', () => {
  it('simulates N identical idle nodes node1..nodeN', () => {
    const f = localFacts(3, { cpus: 2, gpus: 1, memoryMb: 1024 });
    expect(f.source).toBe('local');
    expect(f.nodes.map((n) => n.name)).toEqual(['node1', 'node2', 'node3']);
    expect(f.nodes[2]).toMatchObject({ cpus: 2, gpus: 1, memoryMb: 1024, gres: 'gpu:1', state: 'idle' });
    expect(localFacts(1, { cpus: 1, gpus: 0, memoryMb: 1 }).nodes[0]!.gres).toBe('(null)');
  });
});
