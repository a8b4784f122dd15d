// The npm install path as a user takes it: `npm pack` of this checkout, `npm install -g` of the
// tarball into a fresh prefix, then the installed `raysl` command (its #! finds `node` on PATH: the
// node running this test, so the Node 24 step checks Node 24) from a directory with no package.json.
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli-process.js';
import { packAndInstall, packageVersion, type NpmInstall } from '../support/packed.js';
import { ensureBuilt, root } from './helpers.js';

let installed: NpmInstall;
beforeAll(() => {
  ensureBuilt();
  installed = packAndInstall();
}, 400_000);
const made: string[] = [];
afterAll(() => {
  for (const dir of [...made, ...(installed ? [dirname(installed.tarball)] : [])])
    rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp dir, removed after the file's tests. */
function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), name));
  made.push(dir);
  return dir;
}

/** The installed command, run through its #! line with this test's node first on PATH. */
async function installedRaysl(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const PATH = [dirname(process.execPath), join(installed.prefix, 'bin'), process.env['PATH'] ?? ''].join(delimiter);
  const c = spawnCli(args, {
    command: installed.bin,
    cwd,
    env: { ...process.env, PATH, NO_COLOR: '1' },
    defaultStream: 'stdout',
    defaultMs: 30_000,
  });
  const code = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

describe('npm: the packed tarball installed with npm install -g', () => {
  it('raysl --version and --help work from the installed command', async () => {
    const cwd = tempDir('raysl-npm-user-');
    const version = await installedRaysl(['--version'], cwd);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(packageVersion());
    const help = await installedRaysl(['--help'], cwd);
    expect(help.code, help.stderr).toBe(0);
    for (const command of ['submit', 'run', 'render', 'status'])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('a .ts entrypoint in a directory with no package.json imports raysl, awaits at top level and runs on the local cluster', async () => {
    const dir = tempDir('raysl-npm-user-');
    copyFileSync(join(root, 'test', 'fixtures', 'install', 'which-node.ts'), join(dir, 'train.ts'));
    const jobs = tempDir('raysl-npm-jobs-');
    const r = await installedRaysl(['run', '--local', '-N', '2', '--job-dir', jobs, 'train.ts'], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1) ?? '{}',
    ) as { execPath: string; nodes: string[]; procs: Array<{ cmd: string; exe: string }> };
    expect(out.nodes).toEqual(['node1', 'node2']);
    // the installed copy ran (not this checkout), on the node that ran the command
    const lib = join(installed.prefix, 'lib', 'node_modules', 'raysl');
    const agents = out.procs.filter((p) => p.cmd.includes(`${lib}/dist/raysl.mjs agent`));
    expect(agents).toHaveLength(2);
    // the controller: `raysl run` itself, started through the installed command's #! line
    expect(
      out.procs.filter((p) => p.cmd.endsWith(`${installed.bin} run --local -N 2 --job-dir ${jobs} train.ts`)),
    ).toHaveLength(1);
    // every one of them on the node that ran the command (tsx's esbuild service is esbuild's own binary)
    expect(new Set(out.procs.filter((p) => !p.cmd.includes('/@esbuild/')).map((p) => p.exe))).toEqual(
      new Set([process.execPath]),
    );
    // nothing written into the user's directory
    expect(readdirSync(dir)).toEqual(['train.ts']);
  });
});
