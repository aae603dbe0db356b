// One soak client process: connects to the scheduler and keeps `--concurrency` graphs going until
// `--until` (epoch ms), each of a random kind (soak/graphs.mjs), and prints one JSON line per graph:
// {kind, outcome: ok | wrong | typed | untyped | lost | cancelled, code?, detail?, ms, tasks}.
//
//   node soak/client.mjs --scheduler URL --name c0 --until MS [--concurrency 2] [--deadline-ms 180000]
import * as ta from '@tessera/client';
import { KINDS, pickKind } from './graphs.mjs';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || process.argv[i + 1] === undefined) {
    if (dflt === undefined) {
      console.error(`soak client: --${name} is required`);
      process.exit(2);
    }
    return dflt;
  }
  return process.argv[i + 1];
}

const scheduler = arg('scheduler');
const name = arg('name');
const until = Number(arg('until'));
const concurrency = Number(arg('concurrency', '2'));
const deadlineMs = Number(arg('deadline-ms', '180000'));

const emit = (rec) => process.stdout.write(`${JSON.stringify({ client: name, ...rec })}\n`);

/** A graph that has not answered by its deadline is lost: it settles as such, and its promise is left. */
function withDeadline(p, ms) {
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve({ lost: true }), ms)));
  return Promise.race([p.then((v) => ({ value: v })), late]).finally(() => clearTimeout(timer));
}

async function one(client) {
  const kind = pickKind();
  // Tasks of the kind's graphs (a persist kind runs three), and how many each had done at its end.
  let tasks = 0;
  let done = 0;
  const opts = {
    onEvent: (ev) => {
      if (ev.type !== 'graph' || ev.state === 'running') return;
      tasks += ev.total ?? 0;
      done += ev.done ?? 0;
    },
  };
  const t0 = performance.now();
  const rec = { kind };
  try {
    const r = await withDeadline(KINDS[kind](client, { opts }), deadlineMs);
    if (r.lost) rec.outcome = 'lost';
    else if (r.value === undefined) rec.outcome = 'ok';
    else if (r.value === 'cancelled') rec.outcome = 'cancelled';
    else Object.assign(rec, { outcome: 'wrong', detail: r.value });
  } catch (e) {
    if (e instanceof ta.TesseraError) Object.assign(rec, { outcome: 'typed', code: e.code, detail: String(e.message).slice(0, 300) });
    else Object.assign(rec, { outcome: 'untyped', detail: String(e?.stack ?? e).slice(0, 600) });
  }
  emit({ ...rec, ms: Math.round(performance.now() - t0), at: Date.now(), tasks, done });
}

const client = await ta.Client.connect(scheduler, { connectTimeoutMs: 60_000 });
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (Date.now() < until) await one(client);
  }),
);
await client.close();
process.exit(0);
