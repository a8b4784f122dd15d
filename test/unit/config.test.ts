import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeConfigs, profileLayers, validateConfig } from '../../src/core/config.js';
import { UsageError } from '../../src/core/errors.js';
import { mergeInputs } from '../../src/core/spec.js';
import { findProjectConfig, findUserConfig, loadConfig } from '../../src/cli/config-file.js';
import { specFromCli } from '../../src/cli/job-options.js';
import { memIo } from '../support/mem-io.js';
import { tempDir } from '../support/temp-dir.js';

function catchUsage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('validateConfig', () => {
  it('accepts profiles with every kind of value', () => {
    const c = validateConfig(
      {
        profiles: {
          default: { partition: 'debug', time: 30, setup: ['module load python'] },
          gpu: {
            gpusPerNode: 8,
            mem: '64G',
            env: { NCCL_DEBUG: 'INFO', OMP_NUM_THREADS: 4 },
            sbatchArgs: ['--mail-type=END'],
            runtime: 'ray',
            exclusive: true,
          },
          open: { rayAuth: 'off' },
          preemptible: { time: '4:00:00', preemptGrace: 300, preemptSignal: 'INT', requeue: true, maxRestarts: 3 },
        },
      },
      'raysl.config.json',
    );
    expect(c.profiles.default).toEqual({ partition: 'debug', time: '30', setup: ['module load python'] });
    expect(c.profiles.gpu!.env).toEqual({ NCCL_DEBUG: 'INFO', OMP_NUM_THREADS: '4' });
    expect(c.profiles.open).toEqual({ rayAuth: 'off' });
    expect(c.profiles.preemptible).toEqual({
      time: '4:00:00',
      preemptGrace: 300,
      preemptSignal: 'SIGINT',
      requeue: true,
      maxRestarts: 3,
    });
  });

  it('accepts the shipped example (examples/raysl.config.json)', () => {
    const file = new URL('../../examples/raysl.config.json', import.meta.url);
    const c = validateConfig(JSON.parse(readFileSync(file, 'utf8')), 'examples/raysl.config.json');
    expect(Object.keys(c.profiles)).toEqual(['default', 'gpu', 'cpu']);
    expect(c.profiles.gpu!.gpusPerNode).toBe(8);
  });

  it('an empty file or no profiles is an empty config', () => {
    expect(validateConfig(null, 'f')).toEqual({ profiles: {} });
    expect(validateConfig({}, 'f')).toEqual({ profiles: {} });
  });

  it.each([
    [
      { profiles: { gpu: { nodes: 'four' } } },
      /^\/p\/raysl\.config\.json: profiles\.gpu\.nodes: .*expected number, received string/,
    ],
    [{ profiles: { gpu: { gpus: 8 } } }, /profiles\.gpu: .*gpus/],
    [{ profiles: { gpu: { time: '2h' } } }, /profiles\.gpu\.time: --time: expected MM/],
    [{ profiles: { gpu: { sbatchArgs: ['--nodes=4'] } } }, /profiles\.gpu\.sbatchArgs\.0: .*raysl sets --nodes/],
    [
      { profiles: { gpu: { env: { CUDA_VISIBLE_DEVICES: '0' } } } },
      /profiles\.gpu\.env\.CUDA_VISIBLE_DEVICES: .*cannot be overridden/,
    ],
    [{ profiles: { gpu: { setup: ['a\nb'] } } }, /profiles\.gpu\.setup\.0: one shell line per entry/],
    [{ profiles: { gpu: { nodes: 0 } } }, /profiles\.gpu\.nodes/],
    [
      { profiles: { gpu: { preemptSignal: 'USR1' } } },
      /profiles\.gpu\.preemptSignal: --preempt-signal: expected TERM, INT, HUP or USR2/,
    ],
    [
      { profiles: { gpu: { rayAuth: 'none' } } },
      /profiles\.gpu\.rayAuth: .*"token"\|"off"|profiles\.gpu\.rayAuth: .*token.*off/,
    ],
    [{ profile: {} }, /\(top level\): .*profile/],
    [{ profiles: { 'bad name': {} } }, /profiles\.bad name/],
  ])('reports file, key path and problem for %j', (data, message) => {
    const err = catchUsage(() => validateConfig(data, '/p/raysl.config.json'));
    expect(err.message).toMatch(message);
    expect(err.hint).toBeTruthy();
  });

  it('an unknown key gets a hint listing the known ones', () => {
    const err = catchUsage(() => validateConfig({ profiles: { gpu: { gpus: 8 } } }, 'f'));
    expect(err.hint).toMatch(/remove or rename gpus; profile keys are: nodes, minNodes/);
  });
});

describe('mergeConfigs and profileLayers', () => {
  const user = { profiles: { default: { account: 'me', env: { A: '1' } }, gpu: { gpusPerNode: 4, partition: 'gpu' } } };
  const project = { profiles: { default: { partition: 'debug', env: { B: '2' } }, gpu: { gpusPerNode: 8 } } };

  it('project file overrides the user file key by key', () => {
    expect(mergeConfigs([user, project])).toEqual({
      profiles: {
        default: { account: 'me', partition: 'debug', env: { A: '1', B: '2' } },
        gpu: { gpusPerNode: 8, partition: 'gpu' },
      },
    });
  });

  // docs/config.md "How the layers merge": across the two files a list is replaced, env merged
  it('across files: a list in the project profile replaces the user one; env merges key by key', () => {
    const u = {
      profiles: { default: { setup: ['module load cuda'], sbatchArgs: ['--mail-type=END'], env: { A: '1', B: '1' } } },
    };
    const p = { profiles: { default: { setup: ['source venv/bin/activate'], env: { B: '2' } } } };
    expect(mergeConfigs([u, p]).profiles.default).toEqual({
      setup: ['source venv/bin/activate'],
      sbatchArgs: ['--mail-type=END'],
      env: { A: '1', B: '2' },
    });
  });

  it('across layers: setup and sbatchArgs add up in order, env merges, flags last', () => {
    const input = mergeInputs([
      { setup: ['a'], sbatchArgs: ['--x=1'], env: { A: '1', B: '1' }, partition: 'debug' },
      { setup: ['b'], env: { B: '2' }, partition: 'gpu' },
      { setup: ['c'], sbatchArgs: ['--y=2'], env: { C: '3' } },
    ]);
    expect(input).toMatchObject({
      setup: ['a', 'b', 'c'],
      sbatchArgs: ['--x=1', '--y=2'],
      env: { A: '1', B: '2', C: '3' },
      partition: 'gpu',
    });
  });

  it('default applies always, the named profile on top', () => {
    const merged = mergeConfigs([user, project]);
    expect(profileLayers(merged, undefined, [])).toEqual([merged.profiles.default]);
    expect(profileLayers(merged, 'gpu', [])).toEqual([merged.profiles.default, merged.profiles.gpu]);
    expect(profileLayers(merged, 'default', [])).toEqual([merged.profiles.default]);
  });

  it('an unknown profile names the files and the known profiles', () => {
    const err = catchUsage(() => profileLayers(mergeConfigs([user]), 'gpux', ['/home/me/.config/raysl/config.json']));
    expect(err.message).toBe('no profile named "gpux" in /home/me/.config/raysl/config.json');
    expect(err.hint).toBe('known profiles: default, gpu');
    expect(catchUsage(() => profileLayers({ profiles: {} }, 'gpu', [])).message).toMatch(
      /no raysl\.config\.json\/\.yaml found/,
    );
  });
});

describe('config files on disk', () => {
  function tree(): { root: string; proj: string; sub: string; xdg: string } {
    const root = tempDir('raysl-config-');
    const proj = join(root, 'proj');
    const sub = join(proj, 'src', 'deep');
    const xdg = join(root, 'xdg');
    mkdirSync(sub, { recursive: true });
    mkdirSync(join(xdg, 'raysl'), { recursive: true });
    return { root, proj, sub, xdg };
  }

  it('finds the project file upward and the user file under XDG_CONFIG_HOME or ~/.config', () => {
    const t = tree();
    writeFileSync(join(t.proj, 'raysl.config.yaml'), 'profiles:\n  default:\n    partition: debug\n');
    writeFileSync(join(t.xdg, 'raysl', 'config.json'), '{"profiles": {}}');
    expect(findProjectConfig(t.sub)).toBe(join(t.proj, 'raysl.config.yaml'));
    expect(findUserConfig({ XDG_CONFIG_HOME: t.xdg })).toBe(join(t.xdg, 'raysl', 'config.json'));
    mkdirSync(join(t.root, 'home', '.config', 'raysl'), { recursive: true });
    writeFileSync(join(t.root, 'home', '.config', 'raysl', 'config.yaml'), '');
    expect(findUserConfig({ HOME: join(t.root, 'home') })).toBe(
      join(t.root, 'home', '.config', 'raysl', 'config.yaml'),
    );
    expect(findUserConfig({})).toBeUndefined();
  });

  it('reads YAML, resolves jobDir against the file, and merges user < project', async () => {
    const t = tree();
    writeFileSync(join(t.xdg, 'raysl', 'config.yaml'), 'profiles:\n  default:\n    account: me\n    partition: cpu\n');
    writeFileSync(
      join(t.proj, 'raysl.config.yaml'),
      'profiles:\n  default:\n    partition: debug\n    jobDir: ../jobs\n',
    );
    const { config, files } = await loadConfig(t.sub, { XDG_CONFIG_HOME: t.xdg });
    expect(files).toEqual([join(t.xdg, 'raysl', 'config.yaml'), join(t.proj, 'raysl.config.yaml')]);
    expect(config.profiles.default).toEqual({ account: 'me', partition: 'debug', jobDir: join(t.root, 'jobs') });
  });

  it('bad syntax and two files in one directory are usage errors naming the file', async () => {
    const t = tree();
    writeFileSync(join(t.proj, 'raysl.config.json'), '{ "profiles": ');
    await expect(loadConfig(t.proj, {})).rejects.toThrow(/raysl\.config\.json: not valid JSON/);
    writeFileSync(join(t.proj, 'raysl.config.yaml'), '');
    await expect(loadConfig(t.proj, {})).rejects.toThrow(/two raysl config files in/);
  });

  it('specFromCli: flags override the profile, the profile overrides defaults', async () => {
    const t = tree();
    writeFileSync(join(t.proj, 'train.py'), '');
    writeFileSync(
      join(t.proj, 'raysl.config.json'),
      JSON.stringify({
        profiles: {
          default: { partition: 'debug', setup: ['module load python'] },
          gpu: { partition: 'gpu', gpusPerNode: 8, nodes: 4, env: { A: '1' } },
        },
      }),
    );
    const io = memIo({ cwd: t.proj });
    const spec = await specFromCli(
      'train.py',
      ['--lr', '1'],
      { profile: 'gpu', nodes: '2', setup: ['source venv/bin/activate'], env: ['B=2'] },
      io,
    );
    expect(spec).toMatchObject({
      entrypoint: join(t.proj, 'train.py'),
      args: ['--lr', '1'],
      partition: 'gpu',
      gpusPerNode: 8,
      nodes: 2,
      setup: ['module load python', 'source venv/bin/activate'],
      env: { A: '1', B: '2' },
      profile: 'gpu',
      jobDir: join(t.proj, 'raysl-jobs'),
    });
  });

  it('specFromCli: refuses a missing entrypoint and a non-executable extensionless one', async () => {
    const t = tree();
    const io = memIo({ cwd: t.proj });
    await expect(specFromCli('missing.py', [], {}, io)).rejects.toThrow(/entrypoint missing\.py not found/);
    writeFileSync(join(t.proj, 'tool'), '#!/bin/sh\n');
    await expect(specFromCli('tool', [], {}, io)).rejects.toThrow(/no known extension and is not executable/);
    await expect(specFromCli('src', [], {}, io)).rejects.toThrow(/is not a file/);
  });
});
