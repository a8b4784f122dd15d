// The pure parts of issue 16's fixes, as tables: job dir modes, where --version counts, the
// Slurm-only options under --local, --env KEY from the environment, and the local time limit.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { fileModeForDir, GROUP_MODES, modesForRoot, PRIVATE_MODES } from '../../src/core/jobdir.js';
import { isVersionOnly, misplacedVersionFlag } from '../../src/cli/version-flag.js';
import { localSpec } from '../../src/cli/local-flags.js';
import { envFromHere } from '../../src/cli/job-options.js';
import { withTimeLimit } from '../../src/cli/local-time-limit.js';
import { buildSpec } from '../../src/core/spec.js';
import { isSyntaxError, readConfigFile } from '../../src/cli/config-file.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignalSource } from '../../src/proc/signals.js';
import { tempDir } from '../support/temp-dir.js';

describe('job dir modes', () => {
  it.each([
    [0o755, PRIVATE_MODES],
    [0o777, PRIVATE_MODES],
    [0o700, PRIVATE_MODES],
    [0o2750, GROUP_MODES],
    [0o2770, GROUP_MODES],
  ])('a root of mode %o: %o', (root, want) => expect(modesForRoot(root)).toEqual(want));

  it('nothing is ever world-readable; the group reads only under a set-group-ID root', () => {
    for (const m of [PRIVATE_MODES, GROUP_MODES]) expect([m.dir & 0o007, m.file & 0o007]).toEqual([0, 0]);
    expect([PRIVATE_MODES.dir & 0o070, PRIVATE_MODES.file & 0o070]).toEqual([0, 0]);
    expect([fileModeForDir(0o700), fileModeForDir(0o750), fileModeForDir(0o2750 | 0o040000)]).toEqual([
      0o600, 0o600, 0o640,
    ]);
  });
});

describe("--version is raysl's own option only", () => {
  it.each([
    [['--version'], true, undefined],
    [['-V', '--json'], true, undefined],
    [['render', '--version'], false, '--version'],
    [['submit', 'train.py', '-V'], false, '-V'],
    [['submit', '-J', '--version', 'train.py'], false, '--version'],
    [['submit', 'train.py', '--', '--version'], false, undefined],
    [['exec', '1', '--', 'python3', '-V'], false, undefined],
    [[], false, undefined],
  ])('%j: alone %s, misplaced %s', (argv, alone, misplaced) => {
    expect(isVersionOnly(argv)).toBe(alone);
    expect(misplacedVersionFlag(argv)).toBe(misplaced);
  });
});

describe('Slurm-only options under --local', () => {
  const spec = (input: Parameters<typeof buildSpec>[2]) => buildSpec(null, [], input, { cwd: '/w' });

  it('given as flags: refused, all named at once, with a hint', () => {
    expect(() =>
      localSpec(spec({ partition: 'gpu', account: 'a' }), { partition: 'gpu', account: 'a' }, 'run'),
    ).toThrow(/run --local has no Slurm to ask: --partition \(a Slurm partition\), --account/);
  });

  it('from a profile: left out with a warning each', () => {
    const r = localSpec(spec({ partition: 'gpu', sbatchArgs: ['--mail-type=END'], nodes: 2 }), {}, 'up');
    expect(r.warnings).toEqual([
      expect.stringMatching(/partition is ignored under --local/),
      expect.stringMatching(/sbatchArgs is ignored/),
    ]);
    expect([r.spec.partition, r.spec.sbatchArgs, r.spec.nodes]).toEqual([undefined, [], 2]);
  });

  it('options the local launcher honours pass untouched', () => {
    const s = spec({ nodes: 3, time: '10', env: { A: '1' }, setup: ['x'] });
    expect(localSpec(s, { nodes: '3', time: '10' }, 'run')).toEqual({ spec: s, warnings: [] });
  });
});

describe('--env KEY takes its value from here', () => {
  it.each([
    [['A'], { A: 'secret' }, ['A=secret']],
    [['A=typed', 'B'], { B: 'x=y' }, ['A=typed', 'B=x=y']],
    [['not a key'], {}, ['not a key']],
  ])('%j with %j -> %j', (given, env, want) => expect(envFromHere({ env: given }, env).env).toEqual(want));

  it('a KEY that is not set is refused with a hint', () => {
    expect(() => envFromHere({ env: ['MISSING_KEY'] }, {})).toThrow(/--env MISSING_KEY: MISSING_KEY is not set/);
  });
});

describe('the local time limit', () => {
  const source = (): SignalSource & EventEmitter => new EventEmitter();

  it('the warning, then TERM, in that order; the real signals still come through', async () => {
    const base = source();
    const seen: string[] = [];
    const said: string[] = [];
    const s = withTimeLimit(base, 0.3, { warnSec: 0.2, entrypointGraceSec: 0.1, signal: 'SIGTERM' }, (l) =>
      said.push(l),
    );
    const ended = new Promise<void>((resolve) => {
      s.on('SIGUSR2', () => seen.push('USR2'));
      s.on('SIGTERM', () => (seen.push('TERM'), resolve()));
      s.on('SIGINT', () => seen.push('INT'));
    });
    base.emit('SIGINT');
    await ended;
    s.dispose();
    expect(seen).toEqual(['INT', 'USR2', 'TERM']);
    expect(said).toEqual([
      expect.stringMatching(/warning Slurm would send/),
      expect.stringMatching(/time limit .* reached/),
    ]);
  });

  it('no limit, no timers; dispose stops pending ones (a later control limit fires, they do not)', async () => {
    const seen: string[] = [];
    const none = withTimeLimit(source(), Infinity, undefined, () => seen.push('none said'));
    none.on('SIGTERM', () => seen.push('none'));
    const disposed = withTimeLimit(source(), 0.05, undefined, () => seen.push('disposed said'));
    disposed.on('SIGTERM', () => seen.push('disposed'));
    disposed.dispose();
    const control = withTimeLimit(source(), 0.15, undefined, () => {});
    await new Promise<void>((resolve) => control.on('SIGTERM', () => resolve()));
    expect(seen).toEqual([]);
  });
});

describe("config errors: the text's fault is the user's, anything else is ours", () => {
  it("the parsers' verdicts are syntax errors; a broken parser is not", () => {
    expect(isSyntaxError(new SyntaxError('Unexpected token'))).toBe(true);
    const yamlError = Object.assign(new Error('bad indentation'), { name: 'YAMLParseError' });
    expect(isSyntaxError(yamlError)).toBe(true);
    // what the bundle threw when yaml's parse was undefined: an internal error (exit 70), not "fix the syntax"
    expect(isSyntaxError(new TypeError('parse2 is not a function'))).toBe(false);
  });

  it('a YAML file with a syntax error: exit 2, one line naming the place', async () => {
    const dir = tempDir('raysl-yaml-');
    writeFileSync(join(dir, 'raysl.config.yaml'), 'profiles:\n  default:\n   nodes: [\n');
    const err = await readConfigFile(join(dir, 'raysl.config.yaml')).catch(
      (e: unknown) => e as Error & { exitCode: number; hint: string },
    );
    expect(err).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/not valid YAML: .*line 4, column 1:$/),
      hint: expect.stringMatching(/YAML/),
    });
  });
});
