/**
 * Quoting for the two languages an sbatch script speaks: bash (the body) and sbatch's own
 * tokenizer (the `#SBATCH` lines, which no shell ever sees). Pure.
 */
import { assertNoNewline } from '../core/option-values.js';

// Characters that mean nothing to bash or to sbatch's tokenizer: such words stay bare for readability.
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * POSIX single-quote style: everything between single quotes is literal in bash ($, `, \, ",
 * newlines, unicode); a single quote itself becomes '\'' (close, escaped quote, reopen).
 */
export function shellQuote(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quotes each word and joins them with spaces: a command line bash reads back as exactly `words`. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/**
 * Quoting for a value on an `#SBATCH` line. sbatch splits these lines itself (src/sbatch/opt.c,
 * _get_argument), not with a shell. Verified with sbatch 22.05 on the test cluster (job names read
 * back with squeue -o %j): double and single quotes both group words, a backslash escapes the next
 * character even inside quotes, an unquoted `#` starts a comment ("a#b" -> "a"), an unmatched `'`
 * is fatal ("it's"), `$(...)` and backticks are never expanded. So: double quotes, with `\` and `"`
 * backslash-escaped; that round-trips every character except a newline, which we reject.
 */
export function sbatchQuote(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** One --sbatch-arg word on an #SBATCH line: "--comment=a b" -> --comment="a b" (sbatch strips the quotes). */
export function sbatchWord(word: string): string {
  assertNoNewline(word, '--sbatch-arg');
  const eq = word.indexOf('=');
  if (word.startsWith('--') && eq > 2) return `${sbatchQuote(word.slice(0, eq))}=${sbatchQuote(word.slice(eq + 1))}`;
  return sbatchQuote(word);
}
