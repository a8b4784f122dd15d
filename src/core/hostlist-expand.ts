/**
 * Slurm hostlist expressions ("node[01-04],gpu-[1-2]x[1,3]"): parse them and expand them like
 * `scontrol show hostnames` (hostlist-compress.ts is the other direction; nodelist.ts the index).
 *
 * The grammar and every ordering rule follow Slurm's src/common/hostlist.c (checked against
 * slurm 22.05.8, Debian 12's scontrol):
 *  - items are separated by ',' and whitespace outside brackets; empty items are skipped;
 *  - a bracket holds a ','-list of `N` or `LO-HI` (decimal); the zero-padding width is the
 *    length of LO as written (`n[8-011]` -> n8..n11, `n[08-11]` -> n08..n11);
 *  - at most MAX_RANGE (65536) hosts per range and per prefix bracket list;
 *  - nothing may follow the last bracket of an item (`n[1-2]x` is refused);
 *  - several brackets form a product in Slurm's order: the last bracket varies fastest, then
 *    the first, second, ... up to the second-to-last, which varies slowest
 *    (`a[1-2]b[3-4]c[5-6]` -> a1b3c5 a1b3c6 a2b3c5 a2b3c6 a1b4c5 ...);
 *  - order and duplicates are kept.
 * Where scontrol silently turns a malformed input into garbage, raysl refuses it instead;
 * DELIBERATE_DIFFERENCES lists those cases.
 */
import { UsageError } from './errors.js';
import type { TESTED_SLURM } from './slurm-support.js';

type TestedSlurm = (typeof TESTED_SLURM)[number];

/** Slurm's MAX_RANGE and MAX_PREFIX_CNT (hostlist.c / hostlist.h): 64K hosts per range. */
export const MAX_RANGE = 65536;
/** raysl's own cap on one expansion, so a typo like a[1-65536]b[1-65536] cannot exhaust memory. */
const MAX_EXPANDED_HOSTS = 1 << 20;

export type HostlistErrorKind =
  | 'unclosed-bracket'
  | 'stray-bracket'
  | 'empty-range'
  | 'open-range'
  | 'bad-range-char'
  | 'malformed-range'
  | 'reversed-range'
  | 'range-too-large'
  | 'number-too-large'
  | 'text-after-bracket'
  | 'too-many-hosts'
  | 'dropped-by-slurm';

export interface DeliberateDifference {
  kind: HostlistErrorKind;
  example: string;
  /**
   * What `scontrol show hostnames <example>` prints on each tested release (22.05.8, 24.11.5);
   * "(rejected)": that release refuses it too, so there it is no difference at all.
   */
  scontrol: Record<TestedSlurm, string>;
  why: string;
}

/**
 * Inputs that scontrol accepts and raysl refuses, on purpose. Every other disagreement with
 * scontrol is a bug (test/slurm/nodelist-parity.test.ts checks it live, on 22.05 and on 24.11).
 * raysl reads the hostlists every Slurm it supports reads alike: where the releases disagree
 * (24.11 accepts text after the last bracket, which 22.05 refuses), it refuses.
 */
export const DELIBERATE_DIFFERENCES: readonly DeliberateDifference[] = [
  {
    kind: 'unclosed-bracket',
    example: 'node[1-2',
    scontrol: { '22.05': 'node]', '24.11': '(rejected)' },
    why: 'Slurm 22.05 drops the range and appends "]" (24.11 refuses it)',
  },
  {
    kind: 'unclosed-bracket',
    example: 'n[1[2]',
    scontrol: { '22.05': 'n[12', '24.11': 'n[12' },
    why: 'Slurm glues an unclosed "[" into the name',
  },
  {
    kind: 'stray-bracket',
    example: 'node]',
    scontrol: { '22.05': 'node]', '24.11': 'node]' },
    why: 'a "]" without "[" is a typo, not a host name',
  },
  {
    kind: 'open-range',
    example: 'n[1-]',
    scontrol: { '22.05': 'n1', '24.11': 'n1' },
    why: 'Slurm reads a missing upper bound as the lower bound',
  },
  {
    kind: 'bad-range-char',
    example: 'n[1a-3]',
    scontrol: { '22.05': 'n01 n02 n03', '24.11': 'n01 n02 n03' },
    why: 'Slurm skips junk after a number but counts it in the padding width',
  },
  {
    kind: 'text-after-bracket',
    example: 'n[1-2].ib',
    scontrol: { '22.05': '(rejected)', '24.11': 'n1.ib n2.ib' },
    why: 'Slurm 24.11 appends text after the last bracket to every host; 22.05 refuses it (and neither writes such a list itself)',
  },
  {
    kind: 'number-too-large',
    example: 'n[9007199254740993]',
    scontrol: { '22.05': 'n9007199254740993', '24.11': 'n9007199254740993' },
    why: 'raysl keeps numbers exact (JavaScript integers stop at 2^53)',
  },
  {
    kind: 'dropped-by-slurm',
    example: 'a[3-1]b[1]c[1],d',
    scontrol: { '22.05': 'd', '24.11': 'd' },
    why: 'Slurm ignores errors in the 3rd-from-last bracket and before, and silently drops the item',
  },
  {
    kind: 'too-many-hosts',
    example: 'a[1-65536]b[1-65536]',
    scontrol: { '22.05': '(4294967296 lines)', '24.11': '(4294967296 lines)' },
    why: `raysl caps one expansion at ${MAX_EXPANDED_HOSTS} hosts`,
  },
];

/** A malformed hostlist expression (exit 2). `column` is 1-based. */
export class HostlistSyntaxError extends UsageError {
  readonly input: string;
  readonly column: number;
  readonly kind: HostlistErrorKind;
  readonly problem: string;

  constructor(input: string, column: number, kind: HostlistErrorKind, problem: string, hint: string) {
    const caret = `${' '.repeat(Math.max(0, column - 1))}^`;
    // tabs and newlines shown as spaces so the caret stays under its column
    const shown = input.replace(/[\t\n\r\v\f]/g, ' ');
    super(`invalid hostlist at column ${column}: ${problem}\n  ${shown}\n  ${caret}`, {
      hint,
      details: { input, column, kind },
    });
    this.input = input;
    this.column = column;
    this.kind = kind;
    this.problem = problem;
  }
}

// ---------------------------------------------------------------- parsing

export interface NumRange {
  lo: number;
  hi: number;
  /** zero-padding width: length of the lower bound as written */
  width: number;
}

/** One item: texts[0] g[0] texts[1] g[1] ... ; without brackets it is just texts[0]. */
export interface Item {
  texts: string[];
  groups: NumRange[][];
}

const BRACKETS_HINT = 'write ranges as prefix[1-4,7] (digits, "-" and "," only inside brackets)';

function isSeparator(c: string): boolean {
  return c === ',' || c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

export function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function parseNumber(input: string, digits: string, column: number): number {
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) {
    throw new HostlistSyntaxError(
      input,
      column,
      'number-too-large',
      `number ${digits} is too large (max ${Number.MAX_SAFE_INTEGER})`,
      'use smaller node numbers',
    );
  }
  return value;
}

/** Parses the inside of one bracket starting at `open` (the '['); returns ranges and the index of ']'. */
function parseBracket(input: string, open: number): { ranges: NumRange[]; close: number } {
  // Unclosed before the next '[' (or never): Slurm would glue the text into a name, raysl refuses.
  const nextClose = input.indexOf(']', open + 1);
  const nextOpen = input.indexOf('[', open + 1);
  if (nextClose === -1 || (nextOpen !== -1 && nextOpen < nextClose)) {
    throw new HostlistSyntaxError(input, open + 1, 'unclosed-bracket', "'[' is never closed", "add the missing ']'");
  }
  const ranges: NumRange[] = [];
  let i = open + 1;
  for (;;) {
    const start = i;
    let lo = '';
    while (i < input.length && isDigit(input[i]!)) lo += input[i++];
    let hi: string | undefined;
    let dash = -1;
    if (input[i] === '-') {
      dash = i++;
      hi = '';
      while (i < input.length && isDigit(input[i]!)) hi += input[i++];
    }
    const c = input[i];
    if (c !== ',' && c !== ']') {
      if (c === '-')
        throw new HostlistSyntaxError(input, i + 1, 'malformed-range', 'a range has one "-" (LO-HI)', BRACKETS_HINT);
      throw new HostlistSyntaxError(
        input,
        i + 1,
        'bad-range-char',
        `unexpected ${JSON.stringify(c)} inside brackets`,
        BRACKETS_HINT,
      );
    }
    if (lo === '' && hi === undefined) {
      throw new HostlistSyntaxError(
        input,
        start + 1,
        'empty-range',
        'empty range between brackets or commas',
        'remove the extra comma or fill in the range, e.g. [1-4]',
      );
    }
    if (lo === '' || hi === '') {
      throw new HostlistSyntaxError(
        input,
        (lo === '' ? start : dash) + 1,
        'open-range',
        `range "${input.slice(start, i)}" needs both bounds`,
        'write LO-HI, e.g. [1-4]',
      );
    }
    const loN = parseNumber(input, lo, start + 1);
    const hiN = hi === undefined ? loN : parseNumber(input, hi, dash + 2);
    if (hiN < loN) {
      throw new HostlistSyntaxError(
        input,
        start + 1,
        'reversed-range',
        `range ${lo}-${hi} is reversed`,
        `write ${hi}-${lo}`,
      );
    }
    if (hiN - loN + 1 > MAX_RANGE) {
      throw new HostlistSyntaxError(
        input,
        start + 1,
        'range-too-large',
        `range ${lo}-${hi} has ${hiN - loN + 1} hosts, Slurm allows at most ${MAX_RANGE}`,
        'split it into several ranges',
      );
    }
    ranges.push({ lo: loN, hi: hiN, width: lo.length });
    if (c === ']') return { ranges, close: i };
    i++; // past ','
  }
}

/** Number of '[' from the one at `from` to the end of the item (separators inside brackets do not end it). */
function bracketsFrom(input: string, from: number): number {
  let n = 0;
  let depth = 0;
  for (let i = from; i < input.length; i++) {
    const c = input[i]!;
    if (c === '[') {
      n++;
      depth++;
    } else if (c === ']') depth = Math.max(0, depth - 1);
    else if (depth === 0 && isSeparator(c)) break;
  }
  return n;
}

const deliberate = (kind: HostlistErrorKind): boolean => DELIBERATE_DIFFERENCES.some((d) => d.kind === kind);

/**
 * Slurm's _push_range_list swallows errors from the 3rd-from-last bracket and earlier
 * (rc = MAX(rc, -1)) and drops the item without a word; raysl refuses, and says so.
 */
function parseBracketInItem(input: string, open: number): { ranges: NumRange[]; close: number } {
  try {
    return parseBracket(input, open);
  } catch (err) {
    if (!(err instanceof HostlistSyntaxError) || deliberate(err.kind) || bracketsFrom(input, open) < 3) throw err;
    throw new HostlistSyntaxError(
      input,
      err.column,
      'dropped-by-slurm',
      `${err.problem} (Slurm would silently drop this item)`,
      err.hint ?? BRACKETS_HINT,
    );
  }
}

function countOf(ranges: NumRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.hi - r.lo + 1;
  return n;
}

/**
 * Bracket balance of one item, checked before any range: an unbalanced bracket also throws
 * Slurm's tokenizer off (it glues or splits items), so it is the error worth reporting.
 */
function checkBrackets(input: string, start: number): void {
  let open = -1;
  for (let i = start; i < input.length; i++) {
    const c = input[i]!;
    if (open === -1 && isSeparator(c)) return;
    if (c === '[') {
      if (open !== -1) break;
      open = i;
    } else if (c === ']') {
      if (open === -1)
        throw new HostlistSyntaxError(
          input,
          i + 1,
          'stray-bracket',
          "']' without a matching '['",
          "remove the ']' or add the missing '['",
        );
      open = -1;
    }
  }
  if (open !== -1)
    throw new HostlistSyntaxError(input, open + 1, 'unclosed-bracket', "'[' is never closed", "add the missing ']'");
}

/** Splits the input into items (Slurm's _next_tok plus bracket parsing), with columns for errors. */
export function parseItems(input: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  while (i < input.length) {
    if (isSeparator(input[i]!)) {
      i++;
      continue;
    }
    checkBrackets(input, i);
    const texts: string[] = [];
    const groups: NumRange[][] = [];
    let text = '';
    let lastClose = -1;
    while (i < input.length && !isSeparator(input[i]!)) {
      const c = input[i]!;
      if (c === '[') {
        const { ranges, close } = parseBracketInItem(input, i);
        texts.push(text);
        groups.push(ranges);
        text = '';
        lastClose = close;
        i = close + 1;
      } else if (c === ']') {
        throw new HostlistSyntaxError(
          input,
          i + 1,
          'stray-bracket',
          "']' without a matching '['",
          "remove the ']' or add the missing '['",
        );
      } else {
        text += c;
        i++;
      }
    }
    if (groups.length > 0 && text !== '') {
      throw new HostlistSyntaxError(
        input,
        lastClose + 2,
        'text-after-bracket',
        `"${text}" after the last bracket`,
        'Slurm 22.05 allows no text after the last bracket (24.11 does; raysl reads what both read): move it into the prefix, or use another bracket',
      );
    }
    texts.push(text);
    // Slurm's MAX_PREFIX_CNT: every bracket but the last may hold at most 64K hosts in total
    for (let g = 0; g < groups.length - 1; g++) {
      const n = countOf(groups[g]!);
      if (n > MAX_RANGE) {
        throw new HostlistSyntaxError(
          input,
          1,
          g < groups.length - 2 ? 'dropped-by-slurm' : 'range-too-large',
          `a prefix bracket expands to ${n} hosts, Slurm allows at most ${MAX_RANGE}`,
          'split the expression into several items',
        );
      }
    }
    items.push({ texts, groups });
  }
  return items;
}

// ---------------------------------------------------------------- expansion

export function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : '0'.repeat(width - s.length) + s;
}

/**
 * The prefixes of a bracketed item (everything before the last bracket) in Slurm's order:
 * _push_range_list takes the rightmost prefix bracket as the outer loop and recurses leftwards.
 */
export function prefixesOf(item: Item): string[] {
  const k = item.groups.length - 1; // prefix brackets: groups[0..k-1], texts[0..k]
  const out: string[] = [];
  const values: string[] = new Array<string>(k);
  const build = (): string => {
    let s = item.texts[0]!;
    for (let g = 0; g < k; g++) s += values[g]! + item.texts[g + 1]!;
    return s;
  };
  const loop = (g: number): void => {
    if (g < 0) {
      out.push(build());
      return;
    }
    for (const r of item.groups[g]!) {
      for (let n = r.lo; n <= r.hi; n++) {
        values[g] = pad(n, r.width);
        loop(g - 1);
      }
    }
  };
  loop(k - 1);
  return out;
}

function itemCount(item: Item): number {
  let n = 1;
  for (const g of item.groups) n *= countOf(g);
  return n;
}

/** Expands a hostlist expression into host names, exactly like `scontrol show hostnames`. */
export function expandHostlist(input: string): string[] {
  const items = parseItems(input);
  let total = 0;
  for (const item of items) total += itemCount(item);
  if (total > MAX_EXPANDED_HOSTS) {
    throw new HostlistSyntaxError(
      input,
      1,
      'too-many-hosts',
      `expands to ${total} hosts, raysl allows at most ${MAX_EXPANDED_HOSTS}`,
      'check the ranges for a typo',
    );
  }
  const hosts: string[] = [];
  for (const item of items) {
    if (item.groups.length === 0) {
      hosts.push(item.texts[0]!);
      continue;
    }
    const last = item.groups[item.groups.length - 1]!;
    for (const prefix of prefixesOf(item)) {
      for (const r of last) {
        for (let n = r.lo; n <= r.hi; n++) hosts.push(prefix + pad(n, r.width));
      }
    }
  }
  return hosts;
}
