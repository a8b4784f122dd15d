/** Injected by the bundler (scripts/build.mjs) from package.json. */
declare const RAYSL_VERSION: string;
/** A template, precompiled when bundled or tested (scripts/hbs.mjs): Handlebars.template() takes it. */
declare module '*.hbs' {
  const spec: import('handlebars').TemplateSpecification;
  export default spec;
}
