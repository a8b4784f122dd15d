// Bundles the CLI (and the client library) into single ESM files so `bin/raysl` loads one file:
// startup stays fast on slow shared filesystems (one stat + one read instead of hundreds).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  define: { RAYSL_VERSION: JSON.stringify(pkg.version) },
  // templates are bundled as text: rendering never touches the filesystem
  loader: { '.hbs': 'text' },
  // CJS deps bundled into ESM need a require(); give them one.
  banner: {
    js: "import { createRequire as __rayslCreateRequire } from 'node:module'; const require = __rayslCreateRequire(import.meta.url);",
  },
  absWorkingDir: root,
};

await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/raysl.mjs' }),
  build({ ...common, entryPoints: ['src/client/index.ts'], outfile: 'dist/client.mjs' }),
]);
