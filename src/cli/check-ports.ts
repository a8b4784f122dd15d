import type { Register } from './app.js';
import { InternalError } from '../core/errors.js';

// Placeholder: implemented by its issue. Fails loudly rather than pretending.
export const registerCheckPorts: Register = (program) => {
  program
    .command('check-ports')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new InternalError('raysl check-ports is not implemented yet', { hint: 'this command lands with a later issue' });
    });
};
