import type { Register } from './app.js';
import { InternalError } from '../core/errors.js';

// Placeholder: implemented by its issue. Fails loudly rather than pretending.
export const registerHostnames: Register = (program) => {
  program
    .command('hostnames')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new InternalError('raysl hostnames is not implemented yet', { hint: 'this command lands with a later issue' });
    });
};
