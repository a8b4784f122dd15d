import type { Register } from './app.js';
import { InternalError } from '../core/errors.js';

// Placeholder: implemented by its issue. Fails loudly rather than pretending.
export const registerAgent: Register = (program) => {
  program
    .command('agent')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new InternalError('raysl agent is not implemented yet', { hint: 'this command lands with a later issue' });
    });
};
