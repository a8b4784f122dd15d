/**
 * Slurm hostlist expressions ("node[01-04],gpu-[1-2]x[1,3]"): expand them like
 * `scontrol show hostnames`, compress host names like `scontrol show hostlist[sorted]`.
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
export const MAX_EXPANDED_HOSTS = 1 << 20;

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
  { kind: 'unclosed-bracket', example: 'node[1-2', scontrol: { '22.05': 'node]', '24.11': '(rejected)' }, why: 'Slurm 22.05 drops the range and appends "]" (24.11 refuses it)' },
  { kind: 'unclosed-bracket', example: 'n[1[2]', scontrol: { '22.05': 'n[12', '24.11': 'n[12' }, why: 'Slurm glues an unclosed "[" into the name' },
  { kind: 'stray-bracket', example: 'node]', scontrol: { '22.05': 'node]', '24.11': 'node]' }, why: 'a "]" without "[" is a typo, not a host name' },
  { kind: 'open-range', example: 'n[1-]', scontrol: { '22.05': 'n1', '24.11': 'n1' }, why: 'Slurm reads a missing upper bound as the lower bound' },
  { kind: 'bad-range-char', example: 'n[1a-3]', scontrol: { '22.05': 'n01 n02 n03', '24.11': 'n01 n02 n03' }, why: 'Slurm skips junk after a number but counts it in the padding width' },
  {
    kind: 'text-after-bracket',
    example: 'n[1-2].ib',
    scontrol: { '22.05': '(rejected)', '24.11': 'n1.ib n2.ib' },
    why: 'Slurm 24.11 appends text after the last bracket to every host; 22.05 refuses it (and neither writes such a list itself)',
  },
  { kind: 'number-too-large', example: 'n[9007199254740993]', scontrol: { '22.05': 'n9007199254740993', '24.11': 'n9007199254740993' }, why: 'raysl keeps numbers exact (JavaScript integers stop at 2^53)' },
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

interface NumRange {
  lo: number;
  hi: number;
  /** zero-padding width: length of the lower bound as written */
  width: number;
}

/** One item: texts[0] g[0] texts[1] g[1] ... ; without brackets it is just texts[0]. */
interface Item {
  texts: string[];
  groups: NumRange[][];
}

const BRACKETS_HINT = 'write ranges as prefix[1-4,7] (digits, "-" and "," only inside brackets)';

function isSeparator(c: string): boolean {
  return c === ',' || c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function parseNumber(input: string, digits: string, column: number): number {
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) {
    throw new HostlistSyntaxError(input, column, 'number-too-large', `number ${digits} is too large (max ${Number.MAX_SAFE_INTEGER})`, 'use smaller node numbers');
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
      if (c === '-') throw new HostlistSyntaxError(input, i + 1, 'malformed-range', 'a range has one "-" (LO-HI)', BRACKETS_HINT);
      throw new HostlistSyntaxError(input, i + 1, 'bad-range-char', `unexpected ${JSON.stringify(c)} inside brackets`, BRACKETS_HINT);
    }
    if (lo === '' && hi === undefined) {
      throw new HostlistSyntaxError(input, start + 1, 'empty-range', 'empty range between brackets or commas', 'remove the extra comma or fill in the range, e.g. [1-4]');
    }
    if (lo === '' || hi === '') {
      throw new HostlistSyntaxError(input, (lo === '' ? start : dash) + 1, 'open-range', `range "${input.slice(start, i)}" needs both bounds`, 'write LO-HI, e.g. [1-4]');
    }
    const loN = parseNumber(input, lo, start + 1);
    const hiN = hi === undefined ? loN : parseNumber(input, hi, dash + 2);
    if (hiN < loN) {
      throw new HostlistSyntaxError(input, start + 1, 'reversed-range', `range ${lo}-${hi} is reversed`, `write ${hi}-${lo}`);
    }
    if (hiN - loN + 1 > MAX_RANGE) {
      throw new HostlistSyntaxError(input, start + 1, 'range-too-large', `range ${lo}-${hi} has ${hiN - loN + 1} hosts, Slurm allows at most ${MAX_RANGE}`, 'split it into several ranges');
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
    throw new HostlistSyntaxError(input, err.column, 'dropped-by-slurm', `${err.problem} (Slurm would silently drop this item)`, err.hint ?? BRACKETS_HINT);
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
      if (open === -1) throw new HostlistSyntaxError(input, i + 1, 'stray-bracket', "']' without a matching '['", "remove the ']' or add the missing '['");
      open = -1;
    }
  }
  if (open !== -1) throw new HostlistSyntaxError(input, open + 1, 'unclosed-bracket', "'[' is never closed", "add the missing ']'");
}

/** Splits the input into items (Slurm's _next_tok plus bracket parsing), with columns for errors. */
function parseItems(input: string): Item[] {
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
        throw new HostlistSyntaxError(input, i + 1, 'stray-bracket', "']' without a matching '['", "remove the ']' or add the missing '['");
      } else {
        text += c;
        i++;
      }
    }
    if (groups.length > 0 && text !== '') {
      throw new HostlistSyntaxError(input, lastClose + 2, 'text-after-bracket', `"${text}" after the last bracket`, 'Slurm 22.05 allows no text after the last bracket (24.11 does; raysl reads what both read): move it into the prefix, or use another bracket');
    }
    texts.push(text);
    // Slurm's MAX_PREFIX_CNT: every bracket but the last may hold at most 64K hosts in total
    for (let g = 0; g < groups.length - 1; g++) {
      const n = countOf(groups[g]!);
      if (n > MAX_RANGE) {
        throw new HostlistSyntaxError(input, 1, g < groups.length - 2 ? 'dropped-by-slurm' : 'range-too-large', `a prefix bracket expands to ${n} hosts, Slurm allows at most ${MAX_RANGE}`, 'split the expression into several items');
      }
    }
    items.push({ texts, groups });
  }
  return items;
}

// ---------------------------------------------------------------- expansion

function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : '0'.repeat(width - s.length) + s;
}

/**
 * The prefixes of a bracketed item (everything before the last bracket) in Slurm's order:
 * _push_range_list takes the rightmost prefix bracket as the outer loop and recurses leftwards.
 */
function prefixesOf(item: Item): string[] {
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
    throw new HostlistSyntaxError(input, 1, 'too-many-hosts', `expands to ${total} hosts, raysl allows at most ${MAX_EXPANDED_HOSTS}`, 'check the ranges for a typo');
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

// ---------------------------------------------------------------- compression

/** Slurm's hostrange_t: prefix + numeric range, or one host without a numeric suffix. */
interface HostRange {
  prefix: string;
  lo: number;
  hi: number;
  width: number;
  single: boolean;
}

/** Number of zeros `num` needs to reach `width` (hostlist.c _zero_padded). */
function zeroPadded(num: number, width: number): number {
  const n = String(num).length;
  return width > n ? width - n : 0;
}

/**
 * hostlist.c _width_equiv: can n (width a.width) and m (width b.width) share one width?
 * Like Slurm it adjusts one of the widths in place; later comparisons depend on that.
 */
function widthCombine(a: HostRange, b: HostRange): boolean {
  if (a.width === b.width) return true;
  const npad = zeroPadded(a.lo, a.width);
  const nmpad = zeroPadded(a.lo, b.width);
  const mpad = zeroPadded(b.lo, b.width);
  const mnpad = zeroPadded(b.lo, a.width);
  if (npad !== nmpad && mpad !== mnpad) return false;
  if (npad !== nmpad) b.width = a.width;
  else a.width = b.width;
  return true;
}

const code = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);
const natDigit = (c: number): boolean => c >= 48 && c <= 57;
const natSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/** Slurm's strnatcmp (src/common/strnatcmp.c), ported as-is: "n2" < "n10". */
export function strnatcmp(a: string, b: string): number {
  let ai = 0;
  let bi = 0;
  for (;;) {
    let ca = code(a, ai);
    let cb = code(b, bi);
    while (natSpace(ca)) ca = code(a, ++ai);
    while (natSpace(cb)) cb = code(b, ++bi);
    if (natDigit(ca) && natDigit(cb)) {
      const result = ca === 48 || cb === 48 ? compareLeft(a, ai, b, bi) : compareRight(a, ai, b, bi);
      if (result !== 0) return result;
    }
    if (ca === 0 && cb === 0) return 0;
    if (ca < cb) return -1;
    if (ca > cb) return 1;
    ai++;
    bi++;
  }
}

/** Right-aligned numbers: the longest run of digits wins, then the first difference. */
function compareRight(a: string, ai: number, b: string, bi: number): number {
  let bias = 0;
  for (;; ai++, bi++) {
    const ca = code(a, ai);
    const cb = code(b, bi);
    if (!natDigit(ca) && !natDigit(cb)) return bias;
    if (!natDigit(ca)) return -1;
    if (!natDigit(cb)) return 1;
    if (ca < cb) {
      if (!bias) bias = -1;
    } else if (ca > cb) {
      if (!bias) bias = 1;
    }
  }
}

/** Left-aligned numbers (a leading zero): the first different digit wins. */
function compareLeft(a: string, ai: number, b: string, bi: number): number {
  for (;; ai++, bi++) {
    const ca = code(a, ai);
    const cb = code(b, bi);
    if (!natDigit(ca) && !natDigit(cb)) return 0;
    if (!natDigit(ca)) return -1;
    if (!natDigit(cb)) return 1;
    if (ca < cb) return -1;
    if (ca > cb) return 1;
  }
}

function prefixCmp(h1: HostRange, h2: HostRange | undefined): number {
  if (h2 === undefined) return -1;
  const r = strnatcmp(h1.prefix, h2.prefix);
  return r === 0 ? Number(h2.single) - Number(h1.single) : r;
}

/** hostrange_cmp; `| 0` mimics C's truncation of the unsigned difference to int. */
function rangeCmp(h1: HostRange, h2: HostRange): number {
  const r = prefixCmp(h1, h2);
  if (r !== 0) return r;
  return widthCombine(h1, h2) ? (h1.lo - h2.lo) | 0 : (h1.width - h2.width) | 0;
}

function withinRange(h1: HostRange, h2: HostRange | undefined): boolean {
  return h2 !== undefined && prefixCmp(h1, h2) === 0 && !h1.single && !h2.single;
}

function rangeCount(h: HostRange): number {
  return h.single ? 1 : h.hi - h.lo + 1;
}

/** hostlist_push_range: append, joining with the tail when it continues it. */
function pushRange(list: HostRange[], hr: HostRange): void {
  const tail = list[list.length - 1];
  if (tail !== undefined && tail.hi === hr.lo - 1 && prefixCmp(tail, hr) === 0 && widthCombine(tail, hr)) {
    tail.hi = hr.hi;
  } else {
    list.push({ ...hr });
  }
}

/** hostname_create: a plain host name split into prefix and numeric suffix. */
function hostRangeOfName(name: string): HostRange {
  let idx = name.length - 1;
  while (idx >= 0 && isDigit(name[idx]!)) idx--;
  const suffix = name.slice(idx + 1);
  const num = Number(suffix);
  // Past 2^53 the suffix is not exact in JavaScript: keep the name whole (Slurm would saturate at 2^64-1).
  if (suffix === '' || !Number.isSafeInteger(num)) return { prefix: name, lo: 0, hi: 0, width: 0, single: true };
  return { prefix: name.slice(0, idx + 1), lo: num, hi: num, width: suffix.length, single: false };
}

function rangesOf(input: string, into: HostRange[]): void {
  for (const item of parseItems(input)) {
    if (item.groups.length === 0) {
      pushRange(into, hostRangeOfName(item.texts[0]!));
      continue;
    }
    const last = item.groups[item.groups.length - 1]!;
    for (const prefix of prefixesOf(item)) {
      for (const r of last) pushRange(into, { prefix, lo: r.lo, hi: r.hi, width: r.width, single: false });
    }
  }
}

/** glibc's qsort is a merge sort (msort.c); same splits and merge order, so side effects match. */
function mergeSort(a: HostRange[], lo: number, n: number, tmp: HostRange[]): void {
  if (n <= 1) return;
  const n1 = n >> 1;
  const n2 = n - n1;
  mergeSort(a, lo, n1, tmp);
  mergeSort(a, lo + n1, n2, tmp);
  let i = lo;
  let j = lo + n1;
  const iEnd = lo + n1;
  const jEnd = lo + n;
  let k = 0;
  while (i < iEnd && j < jEnd) tmp[k++] = rangeCmp(a[i]!, a[j]!) <= 0 ? a[i++]! : a[j++]!;
  while (i < iEnd) tmp[k++] = a[i++]!;
  for (let t = 0; t < k; t++) a[lo + t] = tmp[t]!;
}

function intersect(h1: HostRange, h2: HostRange): HostRange | undefined {
  if (h1.single || h2.single) return undefined;
  if (h1.hi > h2.lo && prefixCmp(h1, h2) === 0 && widthCombine(h1, h2)) {
    return { ...h1, lo: h2.lo, hi: Math.min(h1.hi, h2.hi) };
  }
  return undefined;
}

/**
 * hostlist_coalesce: split overlapping neighbours so every duplicate is its own range.
 * Same walk as Slurm (from the end, pair (i-1, i)), on a gap buffer: `left` is hr[0..i) and
 * `right` is hr[i..] reversed, so inserting at i and moving i cost O(1) instead of O(n).
 */
function coalesce(hr: HostRange[]): HostRange[] {
  if (hr.length < 2) return hr;
  const left = hr.slice();
  const right: HostRange[] = [left.pop()!];
  while (left.length > 0) {
    const prev = left[left.length - 1]!;
    const next = right[right.length - 1]!;
    const common = intersect(prev, next);
    if (!common) {
      right.push(left.pop()!);
      continue;
    }
    if (common.hi < prev.hi) next.hi = prev.hi;
    prev.hi = common.lo;
    next.lo = common.hi;
    if (prev.hi < prev.lo) right.pop(); // mirrors Slurm (it deletes at i, not i-1)
    const singles: HostRange[] = [];
    for (let n = common.lo; n <= common.hi; n++) {
      const one = (): HostRange => ({ prefix: common.prefix, lo: n, hi: n, width: common.width, single: false });
      if (n > prev.hi) singles.push(one());
      if (n < next.lo) singles.push(one());
    }
    for (let k = singles.length - 1; k >= 0; k--) right.push(singles[k]!);
    // Slurm rescans from the end; pairs past j = i + singles are unchanged and were already found
    // disjoint (a disjoint check has no side effects), so resuming at j + 1 is the same walk.
    const target = Math.min(left.length + right.length - 1, left.length + singles.length + 1);
    while (left.length < target) left.push(right.pop()!);
    while (left.length > target) right.push(left.pop()!);
  }
  return collapse(right.reverse());
}

/** hostlist_collapse: join neighbours that continue each other (same walk from the end, no splices). */
function collapse(hr: HostRange[]): HostRange[] {
  if (hr.length === 0) return hr;
  const reversed: HostRange[] = [];
  let cur = hr[hr.length - 1]!;
  for (let i = hr.length - 2; i >= 0; i--) {
    const prev = hr[i]!;
    if (prev.hi === cur.lo - 1 && prefixCmp(prev, cur) === 0 && widthCombine(prev, cur)) {
      prev.hi = cur.hi;
    } else {
      reversed.push(cur);
    }
    cur = prev;
  }
  reversed.push(cur);
  return reversed.reverse();
}

function numString(h: HostRange): string {
  if (h.single) return '';
  return h.lo < h.hi ? `${pad(h.lo, h.width)}-${pad(h.hi, h.width)}` : pad(h.lo, h.width);
}

/** hostlist_ranged_string: prefix[a-b,c] groups, one per run of ranges sharing a prefix. */
function rangedString(hr: HostRange[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < hr.length) {
    const first = hr[i]!;
    const bracket = rangeCount(first) > 1 || withinRange(first, hr[i + 1]);
    const nums: string[] = [];
    do nums.push(numString(hr[i]!));
    while (++i < hr.length && withinRange(hr[i]!, hr[i - 1]));
    parts.push(bracket ? `${first.prefix}[${nums.join(',')}]` : first.prefix + nums.join(','));
  }
  return parts.join(',');
}

function toRanges(hosts: string[]): HostRange[] {
  const ranges: HostRange[] = [];
  for (const h of hosts) rangesOf(h, ranges);
  return ranges;
}

/**
 * Compresses host names (or hostlist expressions) into one sorted expression, like
 * `scontrol show hostlistsorted`: sorted by prefix (natural order) then number; duplicates kept.
 */
export function compressHostlist(hosts: string[]): string {
  const ranges = toRanges(hosts);
  mergeSort(ranges, 0, ranges.length, new Array<HostRange>(ranges.length));
  const slurmStyle = rangedString(coalesce(ranges));
  // Slurm's coalesce loses hosts when one range overlaps several others (scontrol prints
  // r2n[92-102,28-136] as a list of 86 hosts instead of 122). raysl never drops a host: when the
  // Slurm-style string does not expand back to exactly the hosts given, compress host by host.
  const given = hosts.flatMap((h) => expandHostlist(h));
  if (sameHosts(given, expandHostlist(slurmStyle))) return slurmStyle;
  return compressHostByHost(given);
}

/** The one place raysl's sorted compression differs from scontrol's. */
export const COMPRESS_DIFFERENCE =
  'where scontrol show hostlistsorted drops hosts (overlapping ranges), raysl sorts host by host and keeps every one';

/** Sorted, duplicates kept, only true neighbours joined: cannot lose or invent a host. */
function compressHostByHost(hosts: string[]): string {
  const ranges = hosts.map(hostRangeOfName);
  mergeSort(ranges, 0, ranges.length, new Array<HostRange>(ranges.length));
  return rangedString(collapse(ranges));
}

/** Same hosts, same multiplicity, any order. */
export function sameHosts(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const count = new Map<string, number>();
  for (const h of a) count.set(h, (count.get(h) ?? 0) + 1);
  for (const h of b) {
    const n = count.get(h);
    if (!n) return false;
    count.set(h, n - 1);
  }
  return true;
}

/** Like compressHostlist but keeps the given order (`scontrol show hostlist`): only neighbours join. */
export function compressHostlistUnsorted(hosts: string[]): string {
  return rangedString(toRanges(hosts));
}
