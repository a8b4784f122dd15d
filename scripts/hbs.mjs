// Templates are precompiled when they are bundled (scripts/build.mjs), tested (vitest.config.ts) or
// benched: raysl then loads only Handlebars' runtime (a tenth of the compiler) and compiles nothing
// at start. The compile options live here, the one place that compiles: strict (a missing value is
// an error) and noEscape (the default HTML-escapes & and =, which would corrupt shell text).
import Handlebars from 'handlebars';

export const hbsCompileOptions = { strict: true, noEscape: true };

/** Template text -> the source of an ES module whose default export is the precompiled template. */
export function hbsModule(text) {
  return `export default ${Handlebars.precompile(text, hbsCompileOptions)};\n`;
}

/** esbuild plugin: `import t from './x.hbs'` gives the precompiled template. */
export const hbsEsbuildPlugin = {
  name: 'raysl-hbs',
  setup(build) {
    build.onLoad({ filter: /\.hbs$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      return { contents: hbsModule(await readFile(args.path, 'utf8')), loader: 'js' };
    });
  },
};
