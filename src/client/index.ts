/** The TypeScript client an entrypoint imports: `import { connect } from 'raysl'`. (issue 4) */
export const clientVersion: string = RAYSL_VERSION;
