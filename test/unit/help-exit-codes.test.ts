// `raysl --help` names every exit code raysl itself uses (src/core/errors.ts ExitCode), so the
// help cannot drift from the codes again (it once left out 1 and 6).
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { ExitCode } from '../../src/core/errors.js';
import { memIo } from '../support/mem-io.js';

function topLevelHelp(): string {
  const io = memIo();
  buildProgram({ io, argv: ['--help'], setExitCode: () => {} }, []).outputHelp();
  return io.out();
}

describe('raysl --help exit codes', () => {
  const help = topLevelHelp();
  const section = help.slice(help.indexOf('Exit codes:'));
  const codes = Object.values(ExitCode).filter((c) => c !== ExitCode.ok);

  it('has an exit-code section', () => expect(section.length).toBeGreaterThan(40));
  it.each(codes)('names exit code %i', (code) => {
    expect(section.replace(/\s+/g, ' ')).toMatch(new RegExp(`(?:;|,) (?:otherwise )?${code} [a-z]`));
  });
});
