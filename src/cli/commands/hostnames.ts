/**
 * `raysl hostnames <nodelist>`: one host per line, exactly like `scontrol show hostnames`,
 * without needing Slurm on the machine. Malformed input exits 2 with the column.
 */
import type { Register } from '../app.js';
import { globalsOf } from '../app.js';
import { writeJson, writeLine } from '../io.js';
import { expandHostlist } from '../../core/nodelist.js';
import { UsageError } from '../../core/errors.js';

export const registerHostnames: Register = (program, app) => {
  program
    .command('hostnames')
    .description('expand a Slurm hostlist expression into host names, one per line (like `scontrol show hostnames`)')
    .argument('[nodelist]', 'hostlist expression, e.g. node[01-04],gpu-[1-2]; default: $SLURM_JOB_NODELIST')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl hostnames 'node[01-04]'            # node01 node02 node03 node04, one per line
  $ raysl hostnames 'rack[1-2]-n[1-2]'       # rack1-n1 rack1-n2 rack2-n1 rack2-n2
  $ raysl hostnames --json 'gpu-[1-3]'       # a JSON array, indented, one name per line
  $ raysl hostnames                          # inside a job: expands $SLURM_JOB_NODELIST`,
    )
    .action((nodelist: string | undefined, _opts: unknown, cmd) => {
      const input = nodelist ?? app.io.env.SLURM_JOB_NODELIST ?? app.io.env.SLURM_NODELIST;
      if (input === undefined) {
        throw new UsageError('no nodelist given and SLURM_JOB_NODELIST is not set', {
          hint: "pass one, e.g. raysl hostnames 'node[1-4]', or run inside a Slurm job",
        });
      }
      const hosts = expandHostlist(input);
      if (globalsOf(cmd).json) writeJson(app.io, hosts);
      else if (hosts.length > 0) app.io.stdout.write(hosts.join('\n') + '\n');
      else writeLine(app.io.stderr, 'raysl: the nodelist holds no hosts');
    });
};
