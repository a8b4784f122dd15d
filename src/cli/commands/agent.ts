import { basename, dirname } from 'node:path';
import { Option } from 'commander';
import type { AgentEnding } from '../../core/agent-ending.js';
import { jobPaths } from '../../core/jobdir.js';
import type { Register } from '../app.js';
import { resolveNodeName, runAgent } from '../../agent/agent.js';
import { injectedFaults } from '../injected-faults.js';
import { writeJsonAtomic } from '../../jobdir/write.js';

// Hidden: started by the controller's launcher (one srun task or local child per node), never by hand.
export const registerAgent: Register = (program, app) => {
  program
    .command('agent', { hidden: true })
    .description('per-node agent (started by the controller; the job token comes from RAYSL_TOKEN)')
    .requiredOption('--controller <host:port>', 'control server address')
    .addOption(new Option('--role <role>', 'head or worker').choices(['head', 'worker']).makeOptionMandatory())
    .option('--node <name>', 'node name (default: SLURMD_NODENAME, then the hostname)')
    .option('--address <ip>', 'ignored: the controller sends each agent its address (kept for ps readability)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ RAYSL_TOKEN=... raysl agent --controller 127.0.1.1:20480 --role worker --node node2\n',
    )
    .action(async (opts: { controller: string; role: 'head' | 'worker'; node?: string }) => {
      const t0 = app.io.now();
      const node = resolveNodeName(app.io.env, opts.node);
      const code = await runAgent({
        controller: opts.controller,
        role: opts.role,
        node,
        env: app.io.env,
        faults: injectedFaults().agents?.[node] ?? {},
        log: (line) => app.io.stderr.write(`[+${((app.io.now() - t0) / 1000).toFixed(2)}s] ${line}\n`),
        recordEnding: (n, outcome, line) =>
          writeEnding(app.io.env.RAYSL_JOB_DIR, { version: 1, node: n, outcome, line, at: new Date().toISOString() }),
      });
      app.setExitCode(code);
    });
};

/** agent-<node>.ending.json in the job dir, written whole; a job dir it cannot write is no reason to fail. */
function writeEnding(jobDir: string | undefined, record: AgentEnding): void {
  if (jobDir === undefined || jobDir === '') return;
  try {
    writeJsonAtomic(jobPaths(dirname(jobDir), basename(jobDir)).agentEnding(record.node), record);
  } catch {
    // the record is one fact among others for a later reader; the agent's log still says how it ended
  }
}
