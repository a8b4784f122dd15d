import type { Register } from '../app.js';
import { runSatelliteStep } from '../../launchers/satellite-step.js';
import { packageRoot, rayslPaths } from '../paths.js';

// Hidden: the last line of a satellite's batch script (raysl grow renders it), never run by hand.
export const registerSatellite: Register = (program, app) => {
  program
    .command('satellite', { hidden: true })
    .description("a satellite's batch step: starts agents on its nodes that join the running cluster")
    .requiredOption('--job-dir <dir>', "the job's directory (<job-dir>/<jobid>): its token and plan")
    .requiredOption('--satellite <id>', "raysl's name for the satellite (s1, s2, ...)")
    .requiredOption('--controller <host:port>', "the job's control server")
    .option('--container-image <image>', "pyxis image the agents run in (default: the job's)")
    .addHelpText(
      'after',
      "\nExamples:\n  $ raysl satellite --job-dir /jobs/123 --satellite s1 --controller 10.0.0.1:20480   # in the satellite's batch script\n",
    )
    .action(async (opts: { jobDir: string; satellite: string; controller: string; containerImage?: string }) => {
      const t0 = app.io.now();
      const paths = rayslPaths();
      const code = await runSatelliteStep({
        ...opts,
        env: app.io.env,
        rayslArgv: [paths.node, '--', paths.raysl],
        packageRoot: packageRoot(),
        log: (line) => app.io.stderr.write(`[+${((app.io.now() - t0) / 1000).toFixed(2)}s] ${line}\n`),
      });
      app.setExitCode(code);
    });
};
