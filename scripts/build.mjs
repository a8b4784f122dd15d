// Bundles the CLI (and the client library) with esbuild so `bin/raysl` loads a few built files instead
// of hundreds of node_modules files: startup stays fast on slow shared filesystems.
import { build } from 'esbuild';
import { hbsEsbuildPlugin } from './hbs.mjs';
import { rmSync, readFileSync, writeFileSync } from 'node:fs';
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
  // templates are bundled precompiled (scripts/hbs.mjs): rendering never touches the filesystem
  plugins: [hbsEsbuildPlugin],
  // CJS deps bundled into ESM need a require(); give them one.
  banner: {
    js: "import { createRequire as __rayslCreateRequire } from 'node:module'; const require = __rayslCreateRequire(import.meta.url);",
  },
  absWorkingDir: root,
};

// Split so the per-node processes (agent, controller) load only their own chunks: the user-facing
// commands pull in zod, handlebars and yaml, which an agent never needs (see command-index.ts).
rmSync(join(root, 'dist/chunks'), { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    entryPoints: { raysl: 'src/cli/bin.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  }),
  build({ ...common, entryPoints: ['src/client/index.ts'], outfile: 'dist/client.mjs' }),
  // `node --import`ed into .ts/.js entrypoints: `import 'raysl'` from anywhere, TLA in a bare .ts
  build({
    ...common,
    entryPoints: { 'register-entry': 'src/client/register-entry.ts', 'entry-hooks': 'src/client/entry-hooks.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
  }),
]);

// Types for `import { connect } from 'raysl'` (package.json "exports" -> dist/client.d.ts): emit
// declarations of the client and what it imports, then point dist/client.d.ts at them.
{
  const ts = (await import('typescript')).default;
  const program = ts.createProgram([join(root, 'src/client/index.ts'), join(root, 'src/globals.d.ts')], {
    declaration: true,
    emitDeclarationOnly: true,
    outDir: join(root, 'dist/types'),
    rootDir: join(root, 'src'),
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const emitted = program.emit();
  const errors = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics);
  if (errors.length > 0) {
    throw new Error(
      `client .d.ts: ${ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' })}`,
    );
  }
  writeFileSync(join(root, 'dist/client.d.ts'), "export * from './types/client/index.js';\n");
}
