// One benchmark workload on Tessera's embedded local engine, in a fresh process (so that peak RSS
// is this workload's alone):
//
//   node bench/workload.mjs <name> [--quick] [--params '{"n":8000,"c":1000}'] [--repeats N] [--threads N]
//
// Prints one JSON line: {name, engine, seconds, runs, warmup, tasks, result, maxRssMiB, ...}.
// `seconds` is the best of N timed runs after one warm-up run (N = 3, or 1 when the warm-up took
// longer than 30 s). A run times the whole user-visible call: building the expression and
// `client.compute()` (graph building, optimisation, execution, gathering), like the Dask side.
// Peak RSS is process.resourceUsage().maxRSS (the whole process: main thread and pool threads).
import * as ta from '@tessera/client';
import { arrayExpressions } from './expressions.mjs';
import { paramsOf } from './workloads.mjs';

const argv = process.argv.slice(2);
const name = argv[0];
const flag = (f) => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const repeatsArg = flag('--repeats');
const threadsArg = flag('--threads');
const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;

function fail(message) {
  console.log(JSON.stringify({ name, engine: 'tessera', error: message }));
  process.exit(2);
}

if (!name || name.startsWith('-')) fail('usage: node bench/workload.mjs <name> [--quick] [--params JSON] [--repeats N]');
let params;
try {
  params = flag('--params') ? JSON.parse(flag('--params')) : paramsOf(name, quick);
} catch (e) {
  fail(String(e.message ?? e));
}

/** Compute options of a workload (default: none). */
const OPTIONS = { 'sum-xxt-unfused': { fuse: false } };

/** The expression of each workload, built fresh for every run. */
const BUILD = {
  'tiny-tasks': (p) =>
    ta
      .ones([p.n], { chunks: [1] })
      .add(1)
      .sum(),
  ...arrayExpressions(ta),
  // x materialised block by block (fusion off, see OPTIONS): the same expression as sum-xxt.
  'sum-xxt-unfused': (p) => arrayExpressions(ta)['sum-xxt'](p),
};
const build = BUILD[name];
if (!build) fail(`unknown workload ${name}; known: ${Object.keys(BUILD).join(', ')}`);

// The bench's user kernels (mapOverlap's stencil) are loaded by every pool thread.
const kernels = [new URL('./kernels.mjs', import.meta.url).pathname];
const client = await ta.Client.connect({ kernels, ...(threadsArg && { threads: Number(threadsArg) }) });
try {
  // Tasks in the executed graph: what the engine says it ran, else the size of the optimised graph.
  const stats = () => (typeof client.engine.stats === 'function' ? client.engine.stats() : undefined);
  const graphTasks = ta.toGraph([build(params)], OPTIONS[name] ?? {}).tasks.length;
  const baseline = maxRssMiB();

  const run = async () => {
    const before = stats()?.tasksExecuted;
    const t0 = performance.now();
    const value = await client.compute(build(params), OPTIONS[name] ?? {});
    const seconds = (performance.now() - t0) / 1000;
    const after = stats()?.tasksExecuted;
    return { seconds, value, executed: before !== undefined && after !== undefined ? after - before : undefined };
  };

  const warm = await run();
  const repeats = repeatsArg !== undefined ? Number(repeatsArg) : warm.seconds <= 30 ? 3 : 1;
  const runs = [];
  let last = warm;
  for (let i = 0; i < repeats; i++) {
    last = await run();
    runs.push(last.seconds);
  }
  const s = stats();
  console.log(
    JSON.stringify({
      name,
      engine: 'tessera',
      quick,
      params,
      seconds: runs.length ? Math.min(...runs) : warm.seconds,
      runs,
      warmup: warm.seconds,
      tasks: last.executed ?? graphTasks,
      graphTasks,
      result: last.value,
      maxRssMiB: maxRssMiB(),
      baselineRssMiB: baseline,
      threads: s?.threads,
      versions: { node: process.version },
    }),
  );
} finally {
  await client.close();
}
