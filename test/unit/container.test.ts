import { describe, expect, it } from 'vitest';
import { containerPlan, parseContainerImage, pyxisFlags, shellWords, wrapperPrefix } from '../../src/core/container.js';
import { buildSpec } from '../../src/core/spec.js';
import { profileSchema } from '../../src/core/config.js';
import { agentSteps, containerFlags, entrypointStep } from '../../src/launchers/srun.js';
import { entrypointArgv } from '../../src/controller/entrypoint.js';
import type { Plan } from '../../src/core/types.js';

describe('shellWords: --container-cmd split as sh splits words, no shell run', () => {
  it.each([
    ['apptainer exec --nv img.sif', ['apptainer', 'exec', '--nv', 'img.sif']],
    ["  apptainer   exec --bind '/a b:/c' img.sif ", ['apptainer', 'exec', '--bind', '/a b:/c', 'img.sif']],
    ['podman run --rm "--env=X=a \\"b\\"" img', ['podman', 'run', '--rm', '--env=X=a "b"', 'img']],
    ["wrap a\\ b '' c", ['wrap', 'a b', '', 'c']],
    ["wrap 'it''s'", ['wrap', 'its']],
    ["wrap ';' '$(x)'", ['wrap', ';', '$(x)']],
  ])('%j', (line, words) => {
    expect(shellWords(line)).toEqual(words);
  });

  it.each([
    ['', /expected a command/],
    ['   ', /expected a command/],
    ["apptainer 'exec", /matched single quotes/],
    ['apptainer "exec', /matched double quotes/],
    ['apptainer exec \\', /a character after/],
    ['apptainer exec img; rm -rf x', /no shell operators/],
    ['apptainer exec $IMG', /no shell operators or expansions like "\$"/],
    ['apptainer exec "$IMG"', /no expansions/],
    ['--nv img', /a program first/],
  ])('refuses %j', (line, message) => {
    expect(() => shellWords(line)).toThrow(message);
    try {
      shellWords(line);
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(2);
      expect((err as { hint?: string }).hint).toMatch(/\S/);
    }
  });
});

describe('--container-image / --container-cmd options', () => {
  it('images: registry, docker:// and squashfs paths pass; spaces, commas, options do not', () => {
    for (const ok of [
      'nvcr.io#nvidia/pytorch:24.01-py3',
      'docker://rayproject/ray:2.60.0',
      '/shared/images/train.sqsh',
    ])
      expect(parseContainerImage(ok)).toBe(ok);
    for (const bad of ['', 'a b', 'a,b', '--x', 'a\nb'])
      expect(() => parseContainerImage(bad)).toThrow(/one image reference/);
  });

  it('the two are mutually exclusive, from flags and from a profile', () => {
    expect(() =>
      buildSpec('t.py', [], { containerImage: 'img', containerCmd: ['apptainer', 'exec', 'x.sif'] }, { cwd: '/w' }),
    ).toThrow(/received both/);
    expect(containerPlan(undefined, undefined)).toBeUndefined();
    expect(containerPlan('img', undefined)).toEqual({ image: 'img' });
    expect(wrapperPrefix({ image: 'img' })).toEqual([]);
  });

  it('config files take the wrapper as one string (split like the flag) or as a list of words', () => {
    expect(profileSchema().parse({ containerCmd: "apptainer exec --nv '/i/a b.sif'" }).containerCmd).toEqual([
      'apptainer',
      'exec',
      '--nv',
      '/i/a b.sif',
    ]);
    expect(profileSchema().parse({ containerCmd: ['apptainer', 'exec', 'x.sif'] }).containerCmd).toEqual([
      'apptainer',
      'exec',
      'x.sif',
    ]);
    expect(profileSchema().safeParse({ containerCmd: 'a; b' }).success).toBe(false);
    expect(profileSchema().safeParse({ containerCmd: ['--nv', 'x.sif'] }).success).toBe(false);
    expect(profileSchema().safeParse({ containerCmd: [] }).success).toBe(false);
    expect(profileSchema().safeParse({ containerImage: 'a b' }).success).toBe(false);
  });
});

describe('the srun argv the launcher builds under --container-image (pyxis cannot run here: tested as data)', () => {
  const targets = [
    { node: 'n1', role: 'head' as const, address: '10.0.0.1', log: '/jobs/77/agent-n1.log' },
    { node: 'n2', role: 'worker' as const, address: '10.0.0.2', log: '/jobs/77/agent-n2.log' },
    { node: 'n3', role: 'worker' as const, address: '10.0.0.3', log: '/jobs/77/agent-n3.log' },
  ];
  const container = { image: 'nvcr.io#nvidia/pytorch:24.01-py3', hostPaths: ['/usr/bin/node', '/opt/raysl'] };
  const flags = containerFlags(container, { TMPDIR: '/local/scratch' }, ['/jobs/77']);

  it('mounts the job dir, TMPDIR, /tmp and raysl itself at their host paths', () => {
    expect(flags).toEqual([
      '--container-image=nvcr.io#nvidia/pytorch:24.01-py3',
      '--container-mounts=/jobs/77:/jobs/77,/local/scratch:/local/scratch,/tmp:/tmp,/usr/bin/node:/usr/bin/node,/opt/raysl:/opt/raysl',
    ]);
    expect(containerFlags(container, {}, ['/jobs/77/'])[1]).toBe(
      '--container-mounts=/jobs/77:/jobs/77,/tmp:/tmp,/usr/bin/node:/usr/bin/node,/opt/raysl:/opt/raysl',
    );
    expect(() => pyxisFlags('img', ['/a,b'])).toThrow(/cannot mount "\/a,b"/);
  });

  it('agent steps carry the pyxis flags before the agent command; the entrypoint is a one-task step on the head', () => {
    const steps = agentSteps(
      {
        targets,
        agentArgv: ['/usr/bin/node', '/opt/raysl/dist/raysl.mjs', 'agent'],
        controller: '10.0.0.1:40001',
        perNode: { cpus: 8, gpus: 4, memoryMb: 1000 },
      },
      flags,
    );
    expect(steps.map((s) => s.argv)).toEqual([
      [
        'srun',
        '--nodes=1',
        '--ntasks=1',
        '--ntasks-per-node=1',
        '--nodelist=n1',
        '--overlap',
        '--gpus-per-node=4',
        '--job-name=raysl-agent-head',
        '--output=/jobs/77/agent-%N.log',
        '--kill-on-bad-exit=0',
        '--open-mode=append',
        '--input=none',
        ...flags,
        '/usr/bin/node',
        '/opt/raysl/dist/raysl.mjs',
        'agent',
        '--controller',
        '10.0.0.1:40001',
        '--role',
        'head',
      ],
      [
        'srun',
        '--nodes=2',
        '--ntasks=2',
        '--ntasks-per-node=1',
        '--nodelist=n[2-3]',
        '--overlap',
        '--gpus-per-node=4',
        '--job-name=raysl-agent-worker',
        '--output=/jobs/77/agent-%N.log',
        '--kill-on-bad-exit=0',
        '--open-mode=append',
        '--input=none',
        ...flags,
        '/usr/bin/node',
        '/opt/raysl/dist/raysl.mjs',
        'agent',
        '--controller',
        '10.0.0.1:40001',
        '--role',
        'worker',
      ],
    ]);
    const entry = entrypointStep(
      { head: 'n1', cwd: '/home/a/proj', entrypoint: '/home/a/proj/train.py', jobDir: '/jobs/77', gpus: 4 },
      flags,
      ['python3', '-u', '/home/a/proj/train.py', '--epochs', '3'],
    );
    expect(entry).toEqual([
      'srun',
      '--nodes=1',
      '--ntasks=1',
      '--ntasks-per-node=1',
      '--nodelist=n1',
      '--overlap',
      '--gpus-per-node=4',
      '--job-name=raysl-entrypoint',
      '--kill-on-bad-exit=0',
      '--input=none',
      ...flags,
      '--container-workdir=/home/a/proj',
      'python3',
      '-u',
      '/home/a/proj/train.py',
      '--epochs',
      '3',
    ]);
  });

  it("with --head-cpus-only the entrypoint step names the head's het component and asks for no GPUs", () => {
    const entry = entrypointStep(
      { head: 'c1', cwd: '/p', entrypoint: '/p/t.py', jobDir: '/jobs/9', gpus: 0, hetGroup: 0 },
      flags,
      ['python3', '/p/t.py'],
    );
    expect(entry.slice(0, 7)).toEqual([
      'srun',
      '--het-group=0',
      '--nodes=1',
      '--ntasks=1',
      '--ntasks-per-node=1',
      '--nodelist=c1',
      '--overlap',
    ]);
    expect(entry.some((a) => a.startsWith('--gpus-per-node'))).toBe(false);
  });

  it('--container-cmd puts the wrapper before the entrypoint (and launch.ts before the agent argv)', () => {
    const plan = {
      container: { cmd: ['apptainer', 'exec', '--nv', 'x.sif'] },
      entrypoint: { interpreter: ['python3', '-u'], path: '/p/t.py', args: ['a b'], kind: 'python' },
    } as unknown as Plan;
    expect(entrypointArgv(plan.entrypoint!, plan.container)).toEqual([
      'apptainer',
      'exec',
      '--nv',
      'x.sif',
      'python3',
      '-u',
      '/p/t.py',
      'a b',
    ]);
  });
});
