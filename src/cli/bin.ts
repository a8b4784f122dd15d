/**
 * Entry point of the bundle (bin/raysl imports it). `raysl --version` answers before anything else
 * loads (a fast path: imports here would become shared chunks); every other call, the version with
 * global flags included (version-flag.ts), loads main.ts, which loads only the command being run.
 */
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) process.stdout.write(`${RAYSL_VERSION}\n`);
else (await import('./main.js')).main(argv);
