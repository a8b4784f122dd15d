// Ray's own libraries (Train, Tune, Data, Serve; the venv of scripts/ray-venv.sh has
// ray[default,train,tune,data,serve] and torch) through raysl on the real test cluster, each example
// of examples/ray/ submitted as a user does and checking itself. Serve: two jobs on the same nodes
// each answer on their own port from the job's block (nothing holds Serve's default 8000), and a job
// that asks for a port another process holds fails naming it. Train through the Jobs API is in
// ray-jobs-api.test.ts.
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterNode, connectFrom } from './helpers.js';
import { newJobRoot, raysl, root, submittedId, type Cli } from './raysl-cli.js';
import { activate, cleanUp, rayPortsOf, within } from './ray-helpers.js';
import { checks, expectNothingLeft, listenersOutsideBlock, unexplained } from './ray-library-checks.js';
const example = (name: string): string => join(root, 'examples', 'ray', `${name}.py`);

/** Submits an example with --follow and waits for it; its exit code, output and job id. */
async function submitExample(
  jobRoot: string,
  args: string[],
  ms: number,
): Promise<{ code: number; out: string; err: string; jobId: string; cli: Cli }> {
  const cli = raysl(['submit', '--job-dir', jobRoot, ...activate(), ...args, '--follow']);
  const jobId = await submittedId(cli);
  const code = await within(cli.exited, ms, `job ${jobId} (${args.join(' ')}) to end`);
  return { code, out: cli.stdout(), err: cli.stderr(), jobId, cli };
}

/** GET http://<host>:<port>/ from inside a node's network namespace; the JSON body, or the error code. */
function getFrom(netns: string, host: string, port: number): Promise<{ job?: string; error?: string }> {
  const js = `fetch('http://${host}:${port}/',{signal:AbortSignal.timeout(10000)}).then(r=>r.text()).then(t=>console.log(t),e=>console.log(JSON.stringify({error:String(e.cause?.code??e)})))`;
  return new Promise((resolve, reject) => {
    execFile(
      'nsenter',
      [`--net=${netns}`, process.execPath, '-e', js],
      { timeout: 20_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`nsenter --net=${netns} node: ${err.message} ${stderr}`));
        else resolve(JSON.parse(stdout.trim()) as { job?: string; error?: string });
      },
    );
  });
}

describe('Ray libraries through raysl (real Ray 2.60 with train, tune, data, serve)', () => {
  it.each([
    // name, extra flags, lines of "ok" it prints (train.py runs in the Jobs API test below: the same
    // checks through `ray job submit`, which is the path that differs)
    ['tune', ['-N', '4', '--gpus-per-node', '1'], 6],
    ['data', ['-N', '4'], 3],
  ] as const)(
    'examples/ray/%s.py on 4 nodes through raysl submit --follow: every check passes; nothing is left',
    { timeout: 420_000 },
    async (name, flags, okLines) => {
      const jobRoot = newJobRoot(`ray-${name}`);
      let jobId: string | undefined;
      try {
        const r = await submitExample(jobRoot, [...flags, example(name)], 360_000);
        jobId = r.jobId;
        expect(r.code, r.out + r.err).toBe(0);
        const c = checks(r.out);
        expect(c.failed).toEqual([]);
        expect(c.ok, r.out).toHaveLength(okLines);
        expect(r.out).toMatch(/^checks: all passed$/m);
        if (name === 'tune') expect(r.out).toMatch(/^cluster: CPU=16 GPU=4: holds 8 trials at once$/m);
        await expectNothingLeft(jobId);
      } finally {
        await cleanUp([], jobId ? [jobId] : []);
      }
    },
  );

  it("examples/ray/serve.py: two jobs on the same nodes both serve, each on its own job's port, each request reaches its own app, nothing holds 8000; a job asking for a port another process holds fails naming it; nothing is left", {
    timeout: 600_000,
  }, async () => {
    const jobRoot = newJobRoot('ray-serve');
    const node1 = clusterNode('node1');
    const node2 = clusterNode('node2');
    const shared = ['-N', '2', '--cpus-per-task', '1', '--sbatch-arg=--nodelist=node[1-2]'];
    // what still holds Serve's default port on the head node (a hand-started server of someone else)
    const holder = spawn(
      'nsenter',
      [
        `--net=${node1.netns}`,
        process.execPath,
        '-e',
        "require('net').createServer().listen(8000,'127.0.0.1',()=>console.log('listening'));setTimeout(()=>process.exit(0),400000)",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const clis: Cli[] = [];
    const ids: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
        holder.on('exit', (c) => reject(new Error(`the port holder exited (${c})`)));
      });
      const release = join(jobRoot, 'release');
      const start = (args: string[], where = shared): Cli => {
        const c = raysl([
          'submit',
          '--job-dir',
          jobRoot,
          ...activate(),
          ...where,
          '--follow',
          example('serve'),
          '--',
          ...args,
        ]);
        clis.push(c);
        return c;
      };
      const [a, b] = [start(['--hold', release]), start(['--hold', release])];
      for (const c of [a, b]) ids.push(await submittedId(c));
      const [idA, idB] = ids as [string, string];

      await Promise.all([a, b].map((c) => c.waitFor(/^serving$/m, 300_000, 'stdout')));
      for (const [c, id] of [
        [a, idA],
        [b, idB],
      ] as const) {
        const { serve } = rayPortsOf(jobRoot, id);
        // the example's own checks: from the entrypoint and from node2's proxy, through the job's port
        expect(checks(c.stdout()).failed).toEqual([]);
        expect(c.stdout()).toMatch(
          new RegExp(`^job ${id}: 2 nodes, 2 replicas, Serve's HTTP port ${serve.serve_http}$`, 'm'),
        );
        expect(checks(c.stdout()).ok).toHaveLength(3);
        // and from outside Ray: each node's proxy on the job's port answers with this job's app
        for (const n of [node1, node2])
          expect(await getFrom(n.netns, '127.0.0.1', serve.serve_http)).toMatchObject({ job: id });
      }
      expect(rayPortsOf(jobRoot, idA).serve.serve_http).not.toBe(rayPortsOf(jobRoot, idB).serve.serve_http);
      // nothing of either job on Serve's default port: node2 has no listener there, node1 only the test's holder
      expect(await connectFrom(node2.netns, '127.0.0.1', 8000)).toBe('ECONNREFUSED');
      // every port either job listens on, Serve's proxies included, is inside its own block
      for (const id of [idA, idB]) {
        const outside = listenersOutsideBlock(jobRoot, id);
        expect(unexplained(outside)).toEqual([]);
        expect(outside.map((l) => l.port)).not.toContain(8000);
      }

      // while both serve, a third job on the head node asks for 8000 (held by the test's holder):
      // one line naming the port, the node and its holder, and a hint
      const taken = start(['--port', '8000'], ['-N', '1', '--cpus-per-task', '1', '--sbatch-arg=--nodelist=node1']);
      const idTaken = await submittedId(taken);
      ids.push(idTaken);
      const takenCode = await within(taken.exited, 300_000, `job ${idTaken} (serve.py --port 8000) to end`);
      expect(takenCode).not.toBe(0);
      const line = taken
        .stdout()
        .split('\n')
        .filter((l) => l.includes('raysl: error: '));
      expect(line.at(-1), taken.stdout()).toMatch(
        new RegExp(`raysl: error: Serve's HTTP port 8000 on node1 is taken by pid ${holder.pid} \\(`),
      );
      const own = rayPortsOf(jobRoot, idTaken).serve.serve_http;
      expect(taken.stdout()).toMatch(
        new RegExp(`^hint: leave the port out of serve.start\\(\\)/serve.run\\(\\) .*this job's port ${own}$`, 'm'),
      );

      writeFileSync(release, '');
      for (const c of [a, b]) expect(await within(c.exited, 120_000, 'the serve jobs to end'), c.stdout()).toBe(0);
      for (const c of [a, b]) expect(c.stdout()).toMatch(/^checks: all passed$/m);
      for (const id of ids) await expectNothingLeft(id);
    } finally {
      holder.kill('SIGKILL');
      await cleanUp(clis, ids);
    }
  });
});
