/**
 * Host names (or hostlist expressions) compressed into one expression like
 * `scontrol show hostlist[sorted]`, following Slurm's src/common/hostlist.c (hostrange_t, its
 * comparison, coalesce and collapse) and glibc's sort, so the output matches scontrol's byte for
 * byte; where scontrol loses hosts, raysl does not (see compressHostlist).
 */
import { expandHostlist, isDigit, pad, parseItems, prefixesOf } from './hostlist-expand.js';
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
  for (; ; ai++, bi++) {
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
  for (; ; ai++, bi++) {
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
