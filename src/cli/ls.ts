import type { Register } from './app.js';
import { InternalError } from '../core/errors.js';

// Placeholder: implemented by its issue. Fails loudly rather than pretending.
export const registerLs: Register = (program) => {
  program
    .command('ls')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new InternalError('raysl ls is not implemented yet', { hint: 'this command lands with a later issue' });
    });
};
