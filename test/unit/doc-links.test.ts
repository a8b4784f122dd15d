// Every link in README.md, CONTRIBUTING.md, bench/README.md and docs/ resolves to a file in this
// repository (and, with an #anchor, to a heading of that file). No link points outside the
// repository: http(s), mailto and any other scheme fail.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/src-imports.js';

function markdownFiles(): string[] {
  const docs = readdirSync(join(repoRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f));
  return ['README.md', 'CONTRIBUTING.md', 'bench/README.md', ...docs].filter((f) => existsSync(join(repoRoot, f)));
}

/** The text outside fenced code blocks and inline code, where a link is a link. */
function prose(md: string): string {
  return md
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/^( {4}|\t).*$/gm, '')
    .replace(/`[^`\n]*`/g, '');
}

/** Link targets: [text](target), ![alt](target), <scheme:...> autolinks, [ref]: target definitions. */
export function linksIn(md: string): string[] {
  const text = prose(md);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const auto = [...text.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)].map((m) => m[1]!);
  const refs = [...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
  const bare = [...text.matchAll(/(?<![(<])\bhttps?:\/\/[^\s)>]+/g)].map((m) => m[0]);
  return [...inline, ...auto, ...refs, ...bare];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const md = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of md.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Why a link does not resolve, or undefined when it does. */
function problem(from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return 'points outside the repository';
  const [path, anchor] = target.split('#') as [string, string | undefined];
  const file = path === '' ? join(repoRoot, from) : resolve(dirname(join(repoRoot, from)), decodeURIComponent(path));
  if (relative(repoRoot, file).startsWith('..')) return 'points outside the repository';
  if (!existsSync(file)) return 'no such file';
  if (anchor !== undefined && file.endsWith('.md') && statSync(file).isFile() && !anchorsOf(file).has(anchor))
    return `no heading #${anchor}`;
  return undefined;
}

describe('links in the docs', () => {
  const files = markdownFiles();

  it('finds the pages and their links', () => {
    expect(files).toContain('README.md');
    expect(files.length).toBeGreaterThan(10);
    expect(files.flatMap((f) => linksIn(readFileSync(join(repoRoot, f), 'utf8'))).length).toBeGreaterThan(50);
  });

  it('every link resolves to a file (and heading) in this repository', () => {
    const bad = files.flatMap((f) =>
      linksIn(readFileSync(join(repoRoot, f), 'utf8')).flatMap((t) => {
        const why = problem(f, t);
        return why ? [`${f}: ${t}: ${why}`] : [];
      }),
    );
    expect(bad).toEqual([]);
  });

  it('sees every kind of link, and refuses the outside', () => {
    const md =
      '[a](docs/x.md) ![i](p.png) <https://e.org>\n[r]: ../up.md\nsee https://e.org/y\n`[no](code.md)`\n```\n[no](fence.md)\n```\n';
    expect(linksIn(md)).toEqual(['docs/x.md', 'p.png', 'https://e.org', '../up.md', 'https://e.org/y']);
    expect(problem('README.md', 'https://example.org')).toBe('points outside the repository');
    expect(problem('README.md', '../../etc/passwd')).toBe('points outside the repository');
    expect(problem('README.md', 'docs/nosuch.md')).toBe('no such file');
    expect(problem('README.md', 'CONTRIBUTING.md#no-such-heading')).toBe('no heading #no-such-heading');
    expect(problem('README.md', 'CONTRIBUTING.md#running-the-tests')).toBeUndefined();
    expect(slug('Containers: `--container-image` (pyxis/enroot)')).toBe('containers---container-image-pyxisenroot');
  });
});
