// Two raysl jobs on the same nodes at the same time get disjoint port blocks (the second reads the
// first's record from its Slurm Comment) and both run to success.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocksOverlap, parsePortRecord } from '../../src/core/ports.js';
import type { PortBlock } from '../../src/core/types.js';
import { listJobs } from '../../src/slurm/squeue.js';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { holdEntrypoint, newJobRoot, raysl, submittedId, waitForStatus } from './raysl-cli.js';

slurmConf();

describe('jobs sharing nodes', () => {
  it('get disjoint port blocks, recorded in ports.json and the Comment, and both succeed', async () => {
    const jobRoot = newJobRoot('shared');
    const hold = holdEntrypoint(jobRoot);
    const args = [
      'submit',
      '-N',
      '2',
      '-c',
      '2',
      '--sbatch-arg=--nodelist=node[1-2]',
      '--job-dir',
      jobRoot,
      hold.path,
      '--follow',
    ];
    const a = raysl(args);
    const idA = await submittedId(a);
    // the second job starts once the first has recorded its block (the case that must not collide)
    await waitForStatus(jobRoot, idA, 'a port block', (s) => s.portBlock !== undefined);
    const b = raysl(args);
    const idB = await submittedId(b);
    const [sa, sb] = await Promise.all(
      [idA, idB].map((id) => waitForStatus(jobRoot, id, 'state running', (s) => s.state === 'running')),
    );
    expect(sa!.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
    expect(sb!.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
    const files = [idA, idB].map(
      (id) => JSON.parse(readFileSync(join(jobRoot, id, 'ports.json'), 'utf8')) as PortBlock,
    );
    expect(blocksOverlap(files[0]!, files[1]!)).toBe(false);
    const jobs = await listJobs({ jobIds: [idA, idB] });
    const comments = [idA, idB].map((id) => parsePortRecord(jobs.find((j) => j.id === id)!.comment));
    expect(comments[0]).toEqual({ base: files[0]!.base, size: files[0]!.size });
    expect(comments[1]).toEqual({ base: files[1]!.base, size: files[1]!.size });
    hold.release();
    expect(await a.exited, a.stderr()).toBe(0);
    expect(await b.exited, b.stderr()).toBe(0);
    expect(a.stdout()).toMatch(/released/);
    expect(b.stdout()).toMatch(/released/);
    for (const id of [idA, idB]) {
      await waitForJobEnd(id);
      expect(jobProcesses(id)).toEqual([]);
    }
  });
});
