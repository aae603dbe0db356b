// What a soak run found: graphs by outcome, faults by kind, task re-runs, latency, peak memory,
// Redis keys against the baseline, and whether the run passes.

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function summarise(s) {
  const by = (o) => s.records.filter((r) => r.outcome === o);
  const ok = by('ok');
  const ms = ok.map((r) => r.ms).sort((a, b) => a - b);
  const perClient = {};
  for (const r of ok) (perClient[r.client] ??= []).push(r.ms);
  const clientP99 = Object.fromEntries(
    Object.entries(perClient).map(([c, xs]) => [
      c,
      quantile(
        xs.sort((a, b) => a - b),
        0.99,
      ),
    ]),
  );
  const typedCodes = {};
  const typedExamples = {};
  for (const r of by('typed')) {
    typedCodes[r.code] = (typedCodes[r.code] ?? 0) + 1;
    typedExamples[r.code] ??= `${r.kind}: ${r.detail}`;
  }
  const byKind = {};
  for (const r of s.records) (byKind[r.kind] ??= { ok: 0, other: 0 })[r.outcome === 'ok' ? 'ok' : 'other']++;
  // Tasks done by the graphs, once each (a cancelled or failed graph's done ones too); what the
  // workers ran beyond is re-runs: after a kill, a stop, a lost chunk, or a task that lost a race
  // with a cancel.
  const tasksNeeded = s.records.reduce((a, r) => a + (r.done ?? 0), 0);
  const totalFaults = Object.values(s.faults).reduce((a, b) => a + b, 0);
  const out = {
    ...s,
    graphs: {
      submitted: s.records.length,
      completed: ok.length,
      cancelled: by('cancelled').length,
      typed: by('typed').length,
      wrong: by('wrong').length,
      lost: by('lost').length,
      untyped: by('untyped').length,
    },
    typedCodes,
    typedExamples,
    byKind,
    totalFaults,
    tasksNeeded,
    latencyMs: { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), max: ms[ms.length - 1] ?? NaN },
    clientP99,
    problems: [
      ...by('wrong').map((r) => `wrong answer (${r.kind}): ${r.detail}`),
      ...by('lost').map((r) => `lost graph (${r.kind}): no answer within its deadline`),
      ...by('untyped').map((r) => `untyped error (${r.kind}): ${r.detail}`),
      ...s.faultErrors,
      ...s.clientErrors,
      ...(s.crashes ?? []),
      ...(s.keys.end > s.keys.baseline
        ? [`Redis has ${s.keys.end} keys, ${s.keys.baseline} before the load; besides the live workers' queues: ${s.keys.extra.join(', ')}`]
        : []),
      ...(s.healthy ? [] : ['the cluster did not have all its workers back at the end']),
      ...(ok.length === 0 ? ['no graph completed'] : []),
    ],
  };
  // The failed ones stay in the JSON, each with the faults under way in the 30 s before it ended.
  out.failures = s.records
    .filter((r) => r.outcome !== 'ok' && r.outcome !== 'cancelled')
    .map((r) => ({
      ...r,
      faults: (s.timeline ?? [])
        .filter((f) => f.from <= r.at && (f.to === 0 || f.to >= r.at - 30_000))
        .map((f) => `${f.name} (${f.target}) ${Math.round((r.at - f.from) / 1000)} s before`),
    }));
  delete out.records;
  delete out.timeline;
  out.pass = out.problems.length === 0;
  return out;
}

const mib = (kib) => `${(kib / 1024).toFixed(0)} MiB`;

export function printReport(r) {
  const g = r.graphs;
  console.log(`\nsoak: ${r.minutes} min on ${r.cpu}`);
  console.log(
    `graphs: ${g.submitted} submitted, ${g.completed} completed, ${g.cancelled} cancelled as asked, ${g.typed} failed with a typed error, ${g.wrong} wrong, ${g.lost} lost, ${g.untyped} untyped errors`,
  );
  if (g.typed)
    console.log(
      `  typed errors by code: ${Object.entries(r.typedCodes)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}`,
    );
  for (const [c, ex] of Object.entries(r.typedExamples)) console.log(`    ${c}, e.g. ${ex}`);
  console.log(
    `  by kind (ok/other): ${Object.entries(r.byKind)
      .map(([k, v]) => `${k} ${v.ok}/${v.other}`)
      .join(', ')}`,
  );
  console.log(
    `faults: ${r.totalFaults} (${Object.entries(r.faults)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')})${r.spillFault ? '' : '; spill disk full left out (needs root for a tmpfs)'}`,
  );
  const reruns = r.taskRuns - r.tasksNeeded;
  console.log(
    `task runs: ${r.taskRuns} for ${r.tasksNeeded} tasks done (${reruns} re-runs, ${((100 * reruns) / Math.max(1, r.tasksNeeded)).toFixed(1)}%; runs on a worker killed after its last scrape, once a second, are not counted)`,
  );
  console.log(
    `graph latency (completed): p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms; p99 per client: ${Object.entries(
      r.clientP99,
    )
      .map(([c, v]) => `${c} ${v} ms`)
      .join(', ')}`,
  );
  console.log(
    `peak memory (VmHWM, highest over restarts): ${Object.entries(r.peaksKiB)
      .map(([k, v]) => `${k} ${mib(v)}`)
      .join(', ')}`,
  );
  console.log(
    `Redis keys (without a TTL, the graph index aside): ${r.keys.baseline} before the load, ${r.keys.end} at the end; ${r.keys.indexed} ids in the graph index (graphs nobody released, pruned 10 min after)`,
  );
  console.log(r.pass ? 'soak: PASS' : `soak: FAIL\n  ${r.problems.slice(0, 30).join('\n  ')}`);
}
