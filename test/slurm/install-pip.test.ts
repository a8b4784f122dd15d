// The pip install path as a Python user takes it: the wheel (scripts/build-wheel.mjs) and
// ray[default]==2.60.0 in a fresh venv on the shared filesystem, and no other node reachable:
//  - the `raysl` command runs in a mount namespace of its own (unshare --mount, propagation private,
//    so nothing leaks to the host or the cluster) where /usr/bin/node (= /bin/node) is bind-mounted
//    over by a tripwire script, with a PATH whose first directory holds another `node` tripwire;
//  - the job's processes are started by slurmd on the compute nodes, outside that namespace: they
//    inherit the PATH (sbatch exports it), so a `node` looked up by name hits the tripwire, and an
//    absolute /usr/bin/node would show in /proc/<pid>/exe, which the job's entrypoint records for
//    every process of the job while all of them are alive.
// The tripwire logs every call: the log must stay empty.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli-process.js';
import { buildWheel, packageVersion, pipInstall, type PipInstall } from '../support/packed.js';
import { ensureBuilt } from '../local/helpers.js';
import { slurmConf, slurmDir } from './helpers.js';
import { newJobRoot, root, submittedId } from './raysl-cli.js';

const RAY = 'ray[default]==2.60.0';
let base: string;
let wheel: string;
let pip: PipInstall;
let tripwireLog: string;
let hiddenPath: string;

interface JobProcess {
  pid: number;
  exe: string;
  cmd: string;
}

beforeAll(() => {
  base = mkdtempSync(join(slurmDir(), 'jobs', 'pip-'));
  ensureBuilt(); // the wheel packs dist/ as it is
  let t = Date.now();
  wheel = buildWheel();
  process.stderr.write(`install-pip: wheel built in ${((Date.now() - t) / 1000).toFixed(1)} s: ${wheel}\n`);
  t = Date.now();
  pip = pipInstall(base, wheel, [RAY]);
  process.stderr.write(`install-pip: venv with ${RAY} and the wheel in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  tripwireLog = join(base, 'node-calls.log');
  const hidden = join(base, 'hidden');
  writeFileSync(
    join(base, 'tripwire'),
    `#!/bin/sh\necho "$0 $*" >> '${tripwireLog}'\necho "node is hidden in this test" >&2\nexit 127\n`,
  );
  chmodSync(join(base, 'tripwire'), 0o755);
  mkdirSync(hidden);
  copyFileSync(join(base, 'tripwire'), join(hidden, 'node'));
  chmodSync(join(hidden, 'node'), 0o755);
  hiddenPath = [
    hidden,
    join(pip.venv, 'bin'),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ].join(':');
}, 900_000);

afterAll(() => {
  for (const dir of [base, wheel && dirname(wheel)]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** argv run in a private mount namespace where /usr/bin/node is the tripwire, with the hidden PATH. */
function hidden(argv: string[], cwd: string) {
  return spawnCli(
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$0" /usr/bin/node && exec "$@"',
      join(base, 'tripwire'),
      ...argv,
    ],
    {
      command: 'unshare',
      cwd,
      // only what a user's shell would have: no NODE_OPTIONS or test runner variables
      env: {
        PATH: hiddenPath,
        HOME: process.env['HOME'] ?? '/root',
        LANG: 'C.UTF-8',
        SLURM_CONF: slurmConf(),
        NO_COLOR: '1',
      },
      defaultStream: 'stderr',
      defaultMs: 60_000,
    },
  );
}

const tripwireCalls = (): string => (existsSync(tripwireLog) ? readFileSync(tripwireLog, 'utf8') : '');

/** The processes the job reported, checked: every raysl process ran the wheel's node, and no process ran any other node. */
function expectWheelNode(procs: JobProcess[], expected: { agents: number; controller: RegExp }): void {
  // raysl's own processes: `<node> <site-packages>/raysl/_package/dist/raysl.mjs ...` (an srun that
  // starts one names it too, further on: that is srun's own process)
  // (`<node> -- <bundle> agent`: the agents' `--` ends node's own options)
  const raysl = procs.filter((p) =>
    p.cmd
      .split(' ')
      .filter((w) => w !== '--')[1]
      ?.endsWith('/raysl/_package/dist/raysl.mjs'),
  );
  expect(
    raysl.filter((p) => / agent /.test(p.cmd)),
    JSON.stringify(procs),
  ).toHaveLength(expected.agents);
  expect(
    raysl.filter((p) => expected.controller.test(p.cmd)),
    JSON.stringify(procs),
  ).toHaveLength(1);
  for (const p of raysl) expect(p.exe, p.cmd).toBe(pip.node);
  for (const p of procs.filter((q) => /\/node$/.test(q.exe))) expect(p.exe, p.cmd).toBe(pip.node);
}

describe('pip: the wheel in a fresh venv, no other node reachable', () => {
  it("the wheel is pure Python (py3-none-any: Node comes from its dependency) and has package.json's version", () => {
    expect(basename(wheel)).toBe(`raysl-${packageVersion()}-py3-none-any.whl`);
  });

  it('the namespace hides every other node: by name and at /usr/bin/node and /bin/node; the host keeps its own', async () => {
    const c = hidden(
      ['sh', '-c', 'node --version; /usr/bin/node --version; /bin/node --version; echo "raysl $(raysl --version)"'],
      base,
    );
    expect(await c.exited).toBe(0);
    expect(c.stderr().match(/node is hidden in this test/g)).toHaveLength(3);
    expect(c.stdout()).not.toMatch(/^v\d+/m);
    expect(c.stdout().trim()).toBe(`raysl ${packageVersion()}`);
    expect(tripwireCalls().trim().split('\n')).toHaveLength(3);
    writeFileSync(tripwireLog, '');
    // private propagation: the bind mount never reached the host (other tests, the cluster)
    expect(readFileSync('/usr/bin/node').subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  });

  it("raysl submit -N 4 --runtime ray train.py --follow exits 0 with real Ray; every raysl process of the job ran the wheel's node", {
    timeout: 420_000,
  }, async () => {
    const jobRoot = newJobRoot('pip');
    const entry = join(base, 'which_node.py');
    copyFileSync(join(root, 'test', 'fixtures', 'install', 'which_node.py'), entry);
    const c = hidden(
      [
        pip.bin,
        'submit',
        '-N',
        '4',
        '--runtime',
        'ray',
        '--job-dir',
        jobRoot,
        entry,
        join(root, 'examples', 'train.py'),
        '--follow',
      ],
      jobRoot,
    );
    const jobId = await submittedId(c);
    // the login side: unshare -> sh -> the venv's raysl (Python) -> node, each exec'd in the same process
    expect(readlinkSync(`/proc/${c.child.pid}/exe`)).toBe(pip.node);
    const code = await c.exited;
    expect(code, `job ${jobId}: ${c.stderr()}`).toBe(0);
    expect(c.stdout()).toMatch(/^nodes alive: 4$/m);
    expect(c.stdout()).toMatch(/^checks: all passed$/m);
    const line = /^job processes: (.*)$/m.exec(c.stdout())?.[1];
    expect(line, c.stdout()).toBeDefined();
    expectWheelNode(JSON.parse(line!) as JobProcess[], { agents: 4, controller: / controller( |$)/ });
    expect(tripwireCalls()).toBe('');
  });

  it("raysl run --local -N 2 of a .ts that imports raysl (no package.json) exits 0 on the wheel's node", {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(base, 'user-'));
    copyFileSync(join(root, 'test', 'fixtures', 'install', 'which-node.ts'), join(dir, 'train.ts'));
    const c = hidden(
      [pip.bin, 'run', '--local', '-N', '2', '--job-dir', mkdtempSync(join(base, 'jobs-')), 'train.ts'],
      dir,
    );
    const code = await c.exited;
    expect(code, c.stderr()).toBe(0);
    const out = JSON.parse(
      c
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1) ?? '{}',
    ) as { execPath: string; nodes: string[]; procs: JobProcess[] };
    expect(out.nodes).toEqual(['node1', 'node2']);
    expect(out.execPath).toBe(pip.node);
    expectWheelNode(out.procs, { agents: 2, controller: / run --local / });
    // the entrypoint itself: Node's own type stripping, no tsx in the wheel (`--` ends node's own options)
    const hook = pathToFileURL(
      join(dirname(pip.node), '..', '..', 'raysl', '_package', 'dist', 'register-entry.mjs'),
    ).href;
    expect(out.procs.filter((p) => p.cmd.endsWith(` ${dir}/train.ts`)).map((p) => p.cmd)).toEqual([
      `${pip.node} --import ${hook} -- ${dir}/train.ts`,
    ]);
    expect(tripwireCalls()).toBe('');
  });

  it('RAYSL_NODE points the command at another node; a wrong one is a one-line error with a hint (exit 2)', async () => {
    const env = { PATH: hiddenPath, HOME: process.env['HOME'] ?? '/root', NO_COLOR: '1' };
    const bad = spawnCli(['--version'], {
      command: pip.bin,
      cwd: base,
      env: { ...env, RAYSL_NODE: join(base, 'no-such-node') },
      defaultStream: 'stderr',
      defaultMs: 30_000,
    });
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toBe(
      `raysl: error: RAYSL_NODE=${join(base, 'no-such-node')} is not an executable file\n  hint: pip install --force-reinstall raysl (it brings Node.js), or set RAYSL_NODE to a node >= 20\n`,
    );
    const json = spawnCli(['status', '--json'], {
      command: pip.bin,
      cwd: base,
      env: { ...env, RAYSL_NODE: 'no-such-node' },
      defaultStream: 'stdout',
      defaultMs: 30_000,
    });
    expect(await json.exited).toBe(2);
    expect(JSON.parse(json.stdout())).toEqual({
      error: {
        message: 'RAYSL_NODE=no-such-node is not an executable file',
        exitCode: 2,
        hint: expect.stringContaining('RAYSL_NODE'),
      },
    });
    // the host's own node (not hidden here): the command and a .ts on it; Node 20 cannot strip types
    // and the wheel has no tsx, so a .ts is refused at planning with the way out
    const dir = mkdtempSync(join(base, 'user-'));
    copyFileSync(join(root, 'test', 'fixtures', 'install', 'which-node.ts'), join(dir, 'train.ts'));
    const host = spawnCli(['run', '--local', '-N', '1', '--job-dir', mkdtempSync(join(base, 'jobs-')), 'train.ts'], {
      command: pip.bin,
      cwd: dir,
      env: { ...env, RAYSL_NODE: '/usr/bin/node' },
      defaultStream: 'stderr',
      defaultMs: 30_000,
    });
    const code = await host.exited;
    const strips =
      execFileSync('/usr/bin/node', ['-p', 'Boolean(process.features.typescript)'], { encoding: 'utf8' }).trim() ===
      'true';
    if (strips) expect(code, host.stderr()).toBe(0);
    else {
      expect(code).toBe(2);
      expect(host.stderr()).toBe(
        `raysl: error: cannot run ${dir}/train.ts: this raysl has no tsx (the pip wheel) and its node does not strip TypeScript types\n` +
          `  hint: unset RAYSL_NODE to use the wheel's Node, or point it at Node >= 22.18; or compile ${dir}/train.ts to .js\n`,
      );
    }
  });
});
