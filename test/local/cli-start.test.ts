// CLI cold start (issue 10): each start of the built bundle loads only what it needs. Checked on the
// files a start reaches by static imports (scripts/bundle-closure.mjs) and the package sources they
// were built from, so a heavy library imported at the top of a shared module fails here, not in a
// benchmark nobody reads. The timings themselves are bench/cli-start.bench.ts's job.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chunkNamed, closure } from '../../scripts/bundle-closure.mjs';
import { commandIndex } from '../../src/cli/command-index.js';
import { bundle, ensureBuilt, root } from './helpers.js';

const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const packagesIn = (sources: string[]) =>
  new Set(sources.flatMap((s) => [...s.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1]!)));
const raysl = (...argv: string[]) =>
  spawnSync(process.execPath, [bundle, ...argv], { cwd: root, encoding: 'utf8', timeout: 30_000 });

beforeAll(() => ensureBuilt());

describe('CLI cold start', () => {
  it('--version and -V print the version and load nothing but the entry', () => {
    for (const flag of ['--version', '-V']) {
      const r = raysl(flag);
      expect([r.status, r.stdout, r.stderr]).toEqual([0, `${pkg.version}\n`, '']);
    }
    expect(closure(bundle).files).toEqual([bundle]);
  });

  it('--help lists every visible command and loads commander, not a command or its libraries', () => {
    const r = raysl('--help');
    expect(r.status).toBe(0);
    for (const e of commandIndex) expect(r.stdout.includes(`  ${e.name} `), e.name).toBe(!e.hidden);
    expect([...packagesIn(closure(bundle, chunkNamed(dist, 'main')).sources)].sort()).toEqual(['chalk', 'commander']);
  });

  it.each([
    // render: the planner, zod for the config format, Handlebars' runtime; no Slurm runner, spinner, YAML or template compiler
    ['render', ['execa', 'ora', 'yaml'], /handlebars\/compiler/],
    // the agent and the controller start on every node of every job
    ['agent', ['handlebars', 'ora', 'yaml', 'execa'], /zod\/v4\/locales\/(?!en)/],
    ['controller', ['handlebars', 'ora', 'yaml'], /zod\/v4\/locales\/(?!en)/],
  ])('%s loads none of %j', (command, absent, absentSource) => {
    const { sources } = closure(bundle, chunkNamed(dist, 'main'), chunkNamed(dist, command));
    const packages = packagesIn(sources);
    expect(packages.has('commander')).toBe(true); // the walk reached the shared chunks
    expect(absent.filter((p) => packages.has(p))).toEqual([]);
    expect(sources.filter((s) => absentSource.test(s))).toEqual([]);
  });

  it('a command runs through its own chunk: render prints the script', () => {
    const r = raysl('render', '-N', '2', 'examples/train.py', '--no-check');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/bash\n/);
    expect(r.stdout).toContain('#SBATCH --nodes=2');
  });
});
