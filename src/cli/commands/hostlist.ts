/**
 * `raysl hostlist <host>...`: compress host names into one hostlist expression, sorted like
 * `scontrol show hostlistsorted` (or in the given order with --unsorted, like `scontrol show hostlist`).
 */
import type { Register } from '../app.js';
import { globalsOf } from '../app.js';
import { writeJson, writeLine } from '../io.js';
import { compressHostlist, compressHostlistUnsorted, expandHostlist } from '../../core/nodelist.js';

export const registerHostlist: Register = (program, app) => {
  program
    .command('hostlist')
    .description('compress host names into one hostlist expression (like `scontrol show hostlistsorted`)')
    .argument('<hosts...>', 'host names or hostlist expressions (commas and spaces also separate)')
    .option('--unsorted', 'keep the given order, joining only neighbours (like `scontrol show hostlist`)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl hostlist node3 node1 node2 gpu-01     # gpu-01,node[1-3]
  $ raysl hostlist --unsorted n3 n1 n2          # n[3,1-2]
  $ raysl hostlist 'n[1-4]' n6 --json           # {"hostlist": "n[1-4,6]", "count": 5}, indented
  $ raysl hostlist $(cat hosts.txt)`,
    )
    .action((hosts: string[], opts: { unsorted?: boolean }, cmd) => {
      const hostlist = opts.unsorted ? compressHostlistUnsorted(hosts) : compressHostlist(hosts);
      if (globalsOf(cmd).json) {
        // count: hosts in the expression, duplicates included (Slurm keeps them too)
        const count = hosts.reduce((n, h) => n + expandHostlist(h).length, 0);
        writeJson(app.io, { hostlist, count });
      } else writeLine(app.io.stdout, hostlist);
    });
};
