// The command index (src/cli/command-index.ts) lists each command as a cheap stub so that only the
// command being run is loaded. The stubs must say exactly what the commands' own registrations say:
// `raysl --help` built from stubs equals `raysl --help` built from every real registration.
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { App, Register } from '../../src/cli/app.js';

(globalThis as { RAYSL_VERSION?: string }).RAYSL_VERSION ??= '0.0.0-test';
const { buildProgram } = await import('../../src/cli/main.js');
const { commandIndex, commandNamed, commandsFor } = await import('../../src/cli/command-index.js');

const app: App = {
  io: { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: '/', now: Date.now },
  argv: [],
  setExitCode: () => {},
};
const allReal = async (): Promise<Register[]> => Promise.all(commandIndex.map((e) => e.load()));

function summary(program: Command): string[] {
  return program.commands.map((c) => {
    const hidden = (c as unknown as { _hidden: boolean })._hidden;
    return `${c.name()} | ${c.usage()} | ${c.description()} | hidden=${hidden}`;
  });
}

describe('command index', () => {
  it('stubs list what the real registrations list, in the same order (top-level --help is identical)', async () => {
    const real = buildProgram(app, await allReal());
    const stubs = buildProgram(app, await commandsFor([]));
    expect(summary(stubs)).toEqual(summary(real));
    expect(stubs.helpInformation()).toBe(real.helpInformation());
    expect(real.commands.map((c) => c.name())).toEqual(commandIndex.map((e) => e.name));
  });

  it('loads the named command for real and leaves the others as stubs', async () => {
    const program = buildProgram(app, await commandsFor(['--json', 'render', '-N', '2', 'x.py']));
    const render = program.commands.find((c) => c.name() === 'render')!;
    const hostnames = program.commands.find((c) => c.name() === 'hostnames')!;
    expect(render.options.map((o) => o.long)).toContain('--nodes');
    expect(render.helpInformation()).toContain('--nodes <n>');
    expect(hostnames.options).toEqual([]);
  });

  it.each([
    [['render', '-N', '2', 'x.py'], 'render'],
    [['--json', '--no-color', 'status', '42'], 'status'],
    [['help', 'submit'], 'submit'],
    [['--help'], undefined],
    [['--', 'render'], undefined],
    [['agent', '--controller', 'h:1', '--role', 'head'], 'agent'],
  ])('commandNamed(%j) = %s', (argv, name) => {
    expect(commandNamed(argv)).toBe(name);
  });
});
