import { Command } from 'commander';
import { HttpEngine } from '@tessera/client';
import { formatCpuList, type GraphStatus, type WorkerView } from '@tessera/protocol';
import { type ConfigOf, addFlags, bool, common, compact, parseFlags } from './flags.js';

export const statusFlags = {
  scheduler: common.scheduler(),
  token: common.token(),
  connectTimeoutMs: common.connectTimeoutMs(),
  json: { flags: '--json', env: 'TESSERA_JSON', help: 'print JSON ({scheduler, workers, graphs}) instead of tables', schema: bool() },
};
export type StatusConfig = ConfigOf<typeof statusFlags>;

export interface StatusReport {
  scheduler: string;
  workers: WorkerView[];
  graphs: GraphStatus[];
}

/** `tessera status`: the workers and graphs of a cluster, as tables or JSON. */
export function statusCommand(): Command {
  const cmd = new Command('status').description('show the workers and graphs of a cluster');
  return addFlags(cmd, statusFlags).action(async (raw: Record<string, unknown>) => {
    const config = parseFlags('status', statusFlags, raw);
    const scheduler = config.scheduler ?? 'http://127.0.0.1:8786';
    const engine = await HttpEngine.connect(
      scheduler,
      compact({ token: config.token, connectTimeoutMs: config.connectTimeoutMs ?? 5_000 }),
    );
    try {
      const [workers, graphs] = await Promise.all([engine.workers(), engine.graphs()]);
      const report: StatusReport = { scheduler, workers, graphs };
      console.log(config.json ? JSON.stringify(report, null, 2) : formatStatus(report));
    } finally {
      await engine.close();
    }
  });
}

export function formatStatus(r: StatusReport, now = Date.now()): string {
  const out: string[] = [`scheduler ${r.scheduler}: ${r.workers.length} workers, ${r.graphs.length} graphs`, ''];
  out.push(
    table(
      ['WORKER', 'ADDRESS', 'DEVICE', 'THREADS', 'RUNNING', 'EXECUTED', 'CHUNKS', 'CHUNK MEM', 'RSS', 'SEEN'],
      r.workers.map((w) => [
        w.info.id,
        w.info.address,
        w.info.device,
        w.info.cpus ? `${w.info.threads} (CPUs ${formatCpuList(w.info.cpus)})` : String(w.info.threads),
        String(w.heartbeat?.running ?? '-'),
        String(w.heartbeat?.executed ?? '-'),
        String(w.heartbeat?.chunks ?? '-'),
        w.heartbeat ? fmtBytes(w.heartbeat.bytes) : '-',
        w.heartbeat ? fmtBytes(w.heartbeat.rss) : '-',
        `${(w.age / 1000).toFixed(1)} s ago`,
      ]),
    ),
  );
  out.push('');
  out.push(
    table(
      ['GRAPH', 'STATE', 'DONE', 'TOTAL', 'PROCESSING', 'ERRED', 'AGE', 'ERROR'],
      r.graphs
        .slice()
        .sort((a, b) => b.submittedAt - a.submittedAt)
        .map((g) => [
          g.id,
          g.state,
          String(g.done),
          String(g.total),
          String(g.counts.processing ?? 0),
          String(g.counts.erred ?? 0),
          fmtAge(now - g.submittedAt),
          g.error ? g.error.message.slice(0, 60) : '',
        ]),
    ),
  );
  return out.join('\n');
}

export function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return `${head[0]}: none`;
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function fmtAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
