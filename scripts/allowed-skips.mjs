// Tests that may be skipped (or left todo) in a full `npm test` run, each with the reason printed at
// the end of the run. Any other skipped or todo test fails the run (scripts/skip-check.mjs): a test
// that silently stops running is a test that stopped testing.
//
// An entry names the test as the run prints it: "<file> > <describe> > ... > <test title>".
/** @type {{ test: string; reason: string }[]} */
export const allowedSkips = [];
