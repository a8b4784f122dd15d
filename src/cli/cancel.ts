import type { Register } from './app.js';
import { InternalError } from '../core/errors.js';

// Placeholder: implemented by its issue. Fails loudly rather than pretending.
export const registerCancel: Register = (program) => {
  program
    .command('cancel')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new InternalError('raysl cancel is not implemented yet', { hint: 'this command lands with a later issue' });
    });
};
