// Operations with real processes: the cluster token end to end (client, scheduler, workers and
// their peer servers), graph size limits, /ready and /metrics, and the CLI's local, submit and
// status commands.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { Backlog, ErrorResponse, WorkerList } from '@tessera/protocol';
import { testRedis, type TestRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, until, type TestCluster } from './cluster.test-util.js';

const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'ops-test-token-0123456789abcdef';
const bearer = { authorization: `Bearer ${TOKEN}` };

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });

let redis: TestRedis;
let c: TestCluster;
let dir: string;

beforeAll(async () => {
  redis = await testRedis();
  c = await startCluster({
    redis: redis.url,
    workers: 2,
    threads: 1,
    env: { TESSERA_TOKEN: TOKEN, TESSERA_MAX_GRAPH_TASKS: '300', TESSERA_MAX_GRAPH_BYTES: '1MiB', TESSERA_LOG_LEVEL: 'warn' },
  });
  // User modules for `tessera submit`, in a folder that resolves @tessera/client like a project would.
  dir = mkdtempSync(join(tmpdir(), 'tessera-ops-'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
});

afterAll(async () => {
  await c?.stop();
  await redis?.deletePrefix(c.prefix);
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function workerAddresses(): Promise<string[]> {
  const res = await fetch(`${c.url}/api/workers`, { headers: bearer });
  return WorkerList.parse(await res.json()).workers.map((w) => w.info.address);
}

describe('the cluster token', () => {
  it('every API route needs it; /health and /ready stay open; a wrong token is refused too', async () => {
    for (const path of ['/api/cluster', '/api/workers', '/api/backlog', '/api/graphs', '/api/graphs/g1', '/api/graphs/g1/events', '/metrics', '/nope']) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }] as Record<
        string,
        string
      >[]) {
        const res = await fetch(`${c.url}${path}`, { headers });
        expect([path, res.status]).toEqual([path, 401]);
        expect(ErrorResponse.parse(await res.json()).error.message).toMatch(/token/);
      }
    }
    const post = await fetch(`${c.url}/api/graphs`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack' },
      body: new Uint8Array(10),
    });
    expect(post.status).toBe(401);
    expect((await fetch(`${c.url}/health`)).status).toBe(200);
    // The scheduler counts a worker once its registry has read it (a poll), not when the worker
    // says it is ready: wait for both.
    await until('the scheduler sees both workers', async () => ((await (await fetch(`${c.url}/ready`)).json()) as { workers: number }).workers === 2);
    expect(await (await fetch(`${c.url}/ready`)).json()).toMatchObject({ ready: true, redis: true, resumed: true, workers: 2 });
    expect((await fetch(`${c.url}/api/workers`, { headers: bearer })).status).toBe(200);
  });

  it('a client without it is refused naming the token; with it computes, results from workers included', async () => {
    const x = ta.random.uniform([200, 200], { chunks: [100, 100], seed: 5 });
    delete process.env.TESSERA_TOKEN;
    const noToken = await ta.Client.connect(c.url);
    try {
      const err = await noToken.compute(x.sum()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ta.InvalidArgumentError);
      expect((err as Error).message).toMatch(/requires a token/);
    } finally {
      await noToken.close();
    }
    const client = await ta.Client.connect(c.url, { token: TOKEN });
    try {
      // 200x200 float64 is 320 KB: not inline, the scheduler fetches it from a worker's peer server.
      const local = await ta.Client.connect();
      const want = await local.compute(x.mul(2));
      await local.close();
      const got = await client.compute(x.mul(2));
      expect(got.data).toEqual(want.data);
    } finally {
      await client.close();
    }
  });

  it("workers' peer servers need it for chunks and metrics; their /health stays open", async () => {
    const [addr] = await workerAddresses();
    expect((await fetch(`${addr}/health`)).status).toBe(200);
    for (const path of ['/chunks/add-0123456789abcdef:0', '/metrics']) {
      const res = await fetch(`${addr}${path}`);
      expect([path, res.status]).toEqual([path, 401]);
    }
    expect((await fetch(`${addr}/chunks/add-0123456789abcdef:0`, { headers: bearer })).status).toBe(404);
    const metrics = await (await fetch(`${addr}/metrics`, { headers: bearer })).text();
    expect(metrics).toMatch(/^tessera_worker_tasks_total\{/m);
    expect(metrics).toMatch(/^tessera_worker_task_duration_seconds_bucket\{/m);
    expect(metrics).toMatch(/^tessera_worker_peer_fetched_bytes_total/m);
    expect(metrics).toMatch(/^tessera_worker_resident_memory_bytes|^tessera_worker_process_resident_memory_bytes/m);
  });

  it('a worker with a wrong token does not start, and says why', () => {
    const r = run(['worker', '--scheduler', c.url, '--redis', redis.url, '--threads', '1'], {
      TESSERA_TOKEN: 'not-the-cluster-token-000',
      TESSERA_DISCOVERY_TIMEOUT_MS: '5000',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/refused this worker's token \(401\)/);
  });
});

describe('limits, readiness and metrics', () => {
  it('a graph over the task or byte limit is a 413 naming the limit and its setting', async () => {
    const client = await ta.Client.connect({ address: c.url, token: TOKEN });
    try {
      const many = await client.compute(ta.ones([400], { chunks: [1] }).sum()).catch((e: unknown) => e);
      expect(many).toBeInstanceOf(ta.InvalidArgumentError);
      expect((many as Error).message).toMatch(
        /more than the limit of 300 tasks per graph \(--max-graph-tasks \/ TESSERA_MAX_GRAPH_TASKS\)/,
      );
      const big = await client
        .compute(ta.fromArray(new Float64Array(200_000), { shape: [200_000], chunks: [200_000] }).sum())
        .catch((e: unknown) => e);
      expect(big).toBeInstanceOf(ta.InvalidArgumentError);
      expect((big as Error).message).toMatch(
        /larger than the limit of 1 MiB .* for a submitted graph \(--max-graph-bytes \/ TESSERA_MAX_GRAPH_BYTES\)/,
      );
      // Under the limits, the same client goes on.
      expect(await client.compute(ta.ones([100], { chunks: [10] }).sum())).toBe(100);
    } finally {
      await client.close();
    }
  });

  it('GET /metrics: tasks, workers and their memory, queue depths, task latency, bytes', async () => {
    const text = await (await fetch(`${c.url}/metrics`, { headers: bearer })).text();
    expect(text).toMatch(/^tessera_workers 2$/m);
    expect(text).toMatch(/^tessera_worker_rss_bytes\{worker="[^"]+"\} \d+/m);
    expect(text).toMatch(/^tessera_queue_jobs\{queue="tasks",state="waiting"\} \d+/m);
    expect(text).toMatch(/^tessera_task_duration_seconds_count [1-9]\d*/m);
    expect(text).toMatch(/^tessera_task_transitions_total\{state="memory"\} [1-9]/m);
    expect(text).toMatch(/^tessera_result_bytes_total [1-9]/m);
    expect(text).toMatch(/^tessera_http_requests_total\{route="\/api\/graphs",status="413"\} [1-9]/m);
    expect(text).toMatch(/^tessera_scheduler_process_resident_memory_bytes \d+/m);
  });

  it('GET /api/backlog: the work waiting while a graph runs, for autoscalers; none once it ended; the same on /metrics', { timeout: 60_000 }, async () => {
    const backlog = async (): Promise<Backlog> => Backlog.parse(await (await fetch(`${c.url}/api/backlog`, { headers: bearer })).json());
    const client = await ta.Client.connect({ address: c.url, token: TOKEN });
    try {
      const x = ta.random.uniform([2000, 2000], { chunks: [250, 250], seed: 4 });
      const job = await client.submit(x.matmul(x).sum());
      let ended = false;
      const result = job.result().finally(() => (ended = true));
      const seen: Backlog[] = [];
      while (!ended) {
        seen.push(await backlog());
        await new Promise((r) => setTimeout(r, 20));
      }
      await result;
      // 64 root blocks against 2 threads: most wait unassigned (roots are held back), with their bytes.
      expect(seen.some((b) => b.ready > 2 && b.readyBytes >= b.ready * 250 * 250 * 8)).toBe(true);
      expect(seen.every((b) => b.workers === 2 && b.threads === 2 && b.pending === b.ready + b.inFlight)).toBe(true);
      await until('the backlog to empty', async () => (await backlog()).pending === 0);
      const text = await (await fetch(`${c.url}/metrics`, { headers: bearer })).text();
      expect(text).toMatch(/^tessera_tasks_pending 0$/m);
      expect(text).toMatch(/^tessera_tasks_ready_unassigned 0$/m);
      expect(text).toMatch(/^tessera_tasks_in_flight 0$/m);
    } finally {
      await client.close();
    }
  });
});

describe('tessera submit and status', () => {
  it('submit runs a TypeScript module: its default export gets a connected client and the arguments', () => {
    const mod = join(dir, 'job.ts');
    writeFileSync(
      mod,
      [
        "import * as ta from '@tessera/client';",
        'export default async (client: ta.Client, args: string[]): Promise<{ total: number; args: string[] }> => {',
        '  const n: number = Number(args[0]);',
        '  return { total: await client.compute(ta.arange(0, n, { chunks: 10 }).sum()), args };',
        '};',
      ].join('\n'),
    );
    const r = run(['submit', mod, '--scheduler', c.url, '--', '50', 'x'], { TESSERA_TOKEN: TOKEN });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ total: 1225, args: ['50', 'x'] });
  });

  it('submit runs a plain script that connects itself from TESSERA_SCHEDULER and TESSERA_TOKEN', () => {
    const mod = join(dir, 'script.mjs');
    writeFileSync(
      mod,
      [
        "import * as ta from '@tessera/client';",
        'const client = await ta.Client.connect(process.env.TESSERA_SCHEDULER);',
        "console.log('total', await client.compute(ta.ones([30], { chunks: [7] }).sum()));",
        'await client.close();',
      ].join('\n'),
    );
    const r = run(['submit', mod], { TESSERA_TOKEN: TOKEN, TESSERA_SCHEDULER: c.url });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('total 30');
  });

  it('submit: a module that throws, a missing module, a bad flag: non-zero naming it', () => {
    const mod = join(dir, 'fails.mjs');
    writeFileSync(mod, "export default async () => { throw new Error('the job failed on purpose'); };\n");
    let r = run(['submit', mod, '--scheduler', c.url], { TESSERA_TOKEN: TOKEN });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the job failed on purpose/);
    r = run(['submit', join(dir, 'nope.mjs')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no module at .*nope\.mjs/);
    r = run(['submit', mod, '--connect-timeout-ms', 'soon']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid --connect-timeout-ms <n> \(env TESSERA_CONNECT_TIMEOUT_MS\): expected an integer, got "soon"/);
  });

  it('status lists workers and graphs as tables, or as JSON', () => {
    let r = run(['status', '--scheduler', c.url], { TESSERA_TOKEN: TOKEN });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/2 workers/);
    expect(r.stdout).toMatch(/^WORKER\s+ADDRESS\s+DEVICE\s+THREADS/m);
    for (const w of c.workers) expect(r.stdout).toContain(w.id);
    r = run(['status', '--json'], { TESSERA_TOKEN: TOKEN, TESSERA_SCHEDULER: c.url });
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { workers: unknown[]; graphs: unknown[] };
    expect(report.workers).toHaveLength(2);
    expect(Array.isArray(report.graphs)).toBe(true);
    r = run(['status', '--scheduler', c.url], { TESSERA_TOKEN: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/requires a token/);
  });
});

describe('tessera local', () => {
  it('starts Redis, a scheduler and N workers in one command; SIGTERM stops them all and exits 0', async () => {
    const child: ChildProcess = spawn(process.execPath, [BIN, 'local', '--workers', '2', '--threads', '1', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TESSERA_LOG_LEVEL: 'warn', TESSERA_TOKEN: TOKEN },
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tessera local did not start:\n${out}\n${err}`)), 40_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+) with 2 workers/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`tessera local exited ${code}:\n${out}\n${err}`)));
    });
    const client = await ta.Client.connect({ address: url, token: TOKEN });
    expect(await client.compute(ta.arange(0, 1000, { chunks: 100 }).sum())).toBe(499_500);
    await client.close();
    const r = run(['status', '--scheduler', url, '--json'], { TESSERA_TOKEN: TOKEN });
    expect((JSON.parse(r.stdout) as { workers: unknown[] }).workers).toHaveLength(2);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Nothing is left listening.
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});

describe('no code from the wire', () => {
  it('no package source evaluates strings as code (eval, Function(), vm)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|mjs|js)$/.test(e.name) && !/\.test(-util)?\.ts$/.test(e.name)) {
          readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (/\beval\(|\bnew Function\(|(^|[^.\w])Function\(|runInNewContext|runInThisContext|new vm\.Script/.test(line))
                offenders.push(`${p}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    for (const pkg of readdirSync(join(ROOT, 'packages'))) walk(join(ROOT, 'packages', pkg, 'src'));
    expect(offenders).toEqual([]);
  });
});
