/** Injected by the bundler (scripts/build.mjs) from package.json. */
declare const RAYSL_VERSION: string;
declare module '*.hbs' {
  const text: string;
  export default text;
}
