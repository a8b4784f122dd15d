// What a start of the bundle loads: the files reached by static imports from the entry
// (dist/raysl.mjs) and from the chunks it then imports dynamically (main, the command), with the
// package sources each file was built from (its source map). Used by bench/cli-start.bench.ts and
// test/local/cli-start.test.ts.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const STATIC_IMPORT = /(?:^|\n)(?:import|export)\s[^;]*?from\s*"(\.[^"]+)"|(?:^|\n)import\s*"(\.[^"]+)"/g;

/** dist/chunks/<name>-<hash>.mjs, the chunk esbuild named after an entry of a dynamic import. */
export function chunkNamed(dist, name) {
  const dir = join(dist, 'chunks');
  const f = readdirSync(dir).find((c) => c.startsWith(`${name}-`) && c.endsWith('.mjs'));
  if (f === undefined) throw new Error(`no ${name}-*.mjs chunk in ${dir}: the bundle layout changed`);
  return join(dir, f);
}

export function closure(...entries) {
  const files = new Map();
  const walk = (file) => {
    if (files.has(file)) return;
    files.set(file, statSync(file).size);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) walk(resolve(dirname(file), m[1] ?? m[2]));
  };
  for (const e of entries) walk(e);
  const sources = [...files.keys()].flatMap((f) =>
    existsSync(`${f}.map`) ? JSON.parse(readFileSync(`${f}.map`, 'utf8')).sources : [],
  );
  return { files: [...files.keys()], bytes: [...files.values()].reduce((a, b) => a + b, 0), sources };
}
