import type { Register } from './app.js';
import { InternalError } from '../core/errors.js';

// Placeholder: implemented by its issue. Fails loudly rather than pretending.
export const registerSubmit: Register = (program) => {
  program
    .command('submit')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new InternalError('raysl submit is not implemented yet', { hint: 'this command lands with a later issue' });
    });
};
