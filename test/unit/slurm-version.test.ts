// The Slurm release raysl reads at submission (sbatch --version, recorded on the 22.05 and 24.11
// test clusters: test/fixtures/slurm/sbatch-version-<release>.txt) and which releases it accepts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memIo } from '../support/mem-io.js';
import { ExitCode, SlurmError, UsageError } from '../../src/core/errors.js';
import { OLDEST_SUPPORTED_SLURM, TESTED_SLURM, slurmSupport } from '../../src/core/slurm-support.js';
import { gatherFacts } from '../../src/cli/facts.js';
import type { SlurmExec } from '../../src/slurm/exec.js';
import { parseSlurmVersion, slurmVersionArgv } from '../../src/slurm/version.js';

const recorded = (release: string): string => {
  const text = readFileSync(new URL(`../fixtures/slurm/sbatch-version-${release}.txt`, import.meta.url), 'utf8');
  expect(text.split('\n')[0]).toBe('# $ sbatch --version');
  return text.slice(text.indexOf('\n') + 1);
};

describe('parseSlurmVersion on sbatch --version', () => {
  it.each([
    [recorded('22.05'), { major: 22, minor: 5, micro: 8, text: '22.05.8' }],
    [recorded('24.11'), { major: 24, minor: 11, micro: 5, text: '24.11.5' }],
    ['slurm 23.11.4\n', { major: 23, minor: 11, micro: 4, text: '23.11.4' }],
    ['slurm 24.05.0-0rc1\n', { major: 24, minor: 5, micro: 0, text: '24.05.0' }],
  ])('%j', (out, v) => expect(parseSlurmVersion(out)).toEqual(v));

  it('names what it received when there is no version', () => {
    expect(() => parseSlurmVersion('sbatch: command not found')).toThrow(SlurmError);
    expect(() => parseSlurmVersion('garbage')).toThrow(
      /cannot read a Slurm version from "garbage"; expected e.g. "slurm 22.05.8"/,
    );
  });

  it('asks sbatch, the client that submits', () => {
    expect(slurmVersionArgv()).toEqual(['sbatch', '--version']);
  });
});

describe('slurmSupport', () => {
  const v = (text: string) => parseSlurmVersion(`slurm ${text}`);

  it('the floor is 20.11 (srun --overlap) and the tested releases are 22.05 and 24.11', () => {
    expect(OLDEST_SUPPORTED_SLURM).toEqual({ major: 20, minor: 11 });
    expect(TESTED_SLURM).toEqual(['22.05', '24.11']);
  });

  it.each(['17.11.13', '19.05.8', '20.02.7'])('refuses %s with exit 2, one line and a hint', (text) => {
    let err: unknown;
    try {
      slurmSupport(v(text));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const u = err as UsageError;
    expect(u.exitCode).toBe(ExitCode.usage);
    expect(u.message).toBe(
      `Slurm ${text} is older than 20.11, the oldest raysl supports (its agent steps need srun --overlap, new in 20.11)`,
    );
    expect(u.message).not.toContain('\n');
    expect(u.hint).toBe(
      'submit from a cluster with Slurm 20.11 or newer (tested: 22.05, 24.11); sbatch --version tells which one you have',
    );
  });

  it.each(['20.11.0', '21.08.8'])('accepts %s with a warning that it is untested', (text) => {
    expect(slurmSupport(v(text))).toEqual({
      warning: `Slurm ${text} is supported but untested: raysl is tested on Slurm 22.05 and 24.11`,
    });
  });

  it.each([recorded('22.05'), recorded('24.11'), 'slurm 23.02.7', 'slurm 25.05.1'])('accepts %j silently', (out) => {
    expect(slurmSupport(parseSlurmVersion(out))).toEqual({});
  });
});

describe('gatherFacts reads the version once from sbatch', () => {
  const lab = readFileSync(new URL('../fixtures/sinfo/lab-4node.txt', import.meta.url), 'utf8');
  /** Runner seam only: sinfo answers the recorded node list, sbatch --version the given text. */
  const cluster =
    (versionOut: string, calls: string[][]): SlurmExec =>
    async ({ argv }) => {
      calls.push([...argv]);
      return { stdout: argv[0] === 'sbatch' ? versionOut : lab, stderr: '', exitCode: 0 };
    };

  it('keeps the version of a supported Slurm in the facts', async () => {
    const calls: string[][] = [];
    const io = memIo();
    const f = await gatherFacts({ exec: cluster(recorded('24.11'), calls) }, io);
    expect(f.slurmVersion).toBe('24.11.5');
    expect(calls.filter((c) => c.includes('--version'))).toEqual([['sbatch', '--version']]);
    expect(io.err()).toBe('');
  });

  it('refuses an older Slurm before anything is planned', async () => {
    await expect(gatherFacts({ exec: cluster('slurm 20.02.7\n', []) }, memIo())).rejects.toThrow(
      /Slurm 20\.02\.7 is older than 20\.11/,
    );
  });

  it('warns once about a supported but untested release', async () => {
    const io = memIo();
    await gatherFacts({ exec: cluster('slurm 21.08.8\n', []) }, io);
    expect(io.err()).toBe(
      'raysl: warning: Slurm 21.08.8 is supported but untested: raysl is tested on Slurm 22.05 and 24.11\n',
    );
  });
});
