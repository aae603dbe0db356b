// The dashboard in a real browser: a cluster of real processes, `tessera dashboard` in front of it,
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) looking at the page.
// Screenshots of each view go to test-artifacts/dashboard/.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { DashboardMessage, GraphHistory, GraphStructure, SseParser, TaskError, type EngineEvent, type SseMessage } from '@tessera/protocol';
import { testRedis, type TestRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, until, type TestCluster } from './cluster.test-util.js';

const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const kernels = fileURLToPath(new URL('./fixtures/cluster-kernels.mjs', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/dashboard/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Graphs over 1,000 tasks are drawn by group: a small graph shows that view. */
const DASHBOARD_FLAGS = ['--dag-max-tasks', '1000'];

interface Dashboard {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `tessera dashboard --port 0 --scheduler URL`, ready once it prints its address. */
function startDashboard(scheduler: string, log: string[], extra: string[] = []): Promise<Dashboard> {
  const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--scheduler', scheduler, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`dashboard did not start:\n${log.join('')}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      log.push(`[dashboard] ${d.toString()}`);
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          stop: async () => {
            if (child.exitCode !== null) return;
            const gone = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
            child.kill('SIGKILL');
          },
        });
      }
    });
    child.stderr!.on('data', (d: Buffer) => log.push(`[dashboard err] ${d.toString()}`));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dashboard exited ${code}:\n${log.join('')}`));
    });
  });
}

describe('dashboard', { timeout: 120_000 }, () => {
  let redis: TestRedis;
  let cluster: TestCluster;
  let client: ta.Client;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  const log: string[] = [];
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
  const view = async (name: 'status' | 'workers' | 'graphs') => {
    await page.click(`.tabs a[data-view="${name}"]`);
    await page.waitForSelector(`#view-${name}:not([hidden])`);
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    redis = await testRedis();
    cluster = await startCluster({ redis: redis.url, workers: 2, threads: 2, kernels: [kernels] });
    client = await ta.Client.connect(cluster.url);
    dashboard = await startDashboard(cluster.url, log, DASHBOARD_FLAGS);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(dashboard.url);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    await client?.close();
    await cluster?.stop();
    if (cluster) await redis.deletePrefix(cluster.prefix);
    await redis?.close();
  });

  it('lists the workers live with their threads, memory and heartbeat', async () => {
    await view('workers');
    await page.waitForFunction(`document.querySelectorAll('#workers-table tr[data-alive="true"]').length === 2`, undefined, {
      timeout: 15_000,
    });
    for (const w of cluster.workers) {
      const row = page.locator(`#workers-table tr[data-worker="${w.id}"]`);
      await expect.poll(() => row.locator('td').nth(1).textContent()).toBe('alive');
      expect(await row.locator('td').nth(3).textContent()).toBe('2');
      expect(await row.locator('td').nth(4).textContent()).toBe('cpu');
    }
    expect(await page.locator('#workers-table thead').textContent()).toMatch(/Memory.*Chunks.*Bytes held.*Running.*Heartbeat/s);
  });

  it('follows a graph live: task stream, progress by group to 100%, throughput', async () => {
    await view('status');
    const x = ta.arange(0, 48_000, { chunks: 1_000 });
    const y = ta.mapBlocks('slow-copy', ta.mapBlocks('slow-copy', x, { params: { ms: 40 } }), { params: { ms: 30 } }).sum();
    const job = await client.submit(y);
    const row = page.locator(`[data-testid="graph-progress"][data-graph="${job.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    // Mid-run: some but not all done, bars in the task stream.
    await expect
      .poll(async () => Number((await row.locator('.pct').textContent())?.replace('%', '')), { timeout: 15_000 })
      .toBeGreaterThan(10);
    await shot('status-running');
    expect(await job.result()).toBe((47_999 * 48_000) / 2);
    await expect.poll(() => row.locator('.pct').textContent(), { timeout: 10_000 }).toBe('100%');
    // Groups: the two mapBlocks stages and the reduction each have a row.
    expect(await page.locator('#progress .prow').count()).toBeGreaterThanOrEqual(4);
    // Coloured (not grey) pixels on the task stream: bars were drawn.
    const painted = await page.evaluate<number>(`(() => {
      const c = document.getElementById('taskstream');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.abs(d[i] - d[i + 1]) + Math.abs(d[i + 1] - d[i + 2]) > 60) coloured++;
      return coloured;
    })()`);
    expect(painted).toBeGreaterThan(500);
    await shot('status-finished');

    // The graphs view lists it finished, and its task DAG is drawn.
    await view('graphs');
    const g = page.locator(`#graphs-table tr[data-graph="${job.id}"]`);
    await expect.poll(() => g.getAttribute('data-state')).toBe('finished');
    await g.click();
    await page.waitForSelector('#graph-detail:not([hidden])');
    await expect.poll(() => page.locator('#gd-note').textContent()).toMatch(/tasks · click a task/);
    await shot('graphs-dag');
    // Clicking a node opens its detail.
    const box = (await page.locator('#dag').boundingBox())!;
    // Scan the canvas for a node painted in a finished colour (memory green or released pale green).
    const hit = await page.evaluate<[number, number] | undefined>(`(() => {
      const c = document.getElementById('dag');
      const ctx = c.getContext('2d');
      const w = ${box.width}, h = ${box.height}, dpr = c.width / w;
      for (let y = 10; y < h; y += 3) for (let x = 10; x < w; x += 3) {
        const [r, g, b] = ctx.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data;
        if ((r === 47 && g === 158 && b === 114) || (r === 147 && g === 211 && b === 180)) return [x, y];
      }
      return undefined;
    })()`);
    expect(hit).toBeDefined();
    await page.mouse.click(box.x + hit![0]!, box.y + hit![1]!);
    await page.waitForSelector('#detail:not([hidden])');
    expect(await page.locator('[data-testid="task-key"]').textContent()).toMatch(/^(slow_copy|sum|arange)/);
    const detail = (await page.locator('#detail-body').textContent())!;
    expect(detail).toMatch(/worker.*w\d/s);
    expect(detail).toMatch(/duration\d/);
    await shot('task-detail');
    await page.click('#detail-close');
  });

  it('draws inputs fetched from another worker as transfer bars before their tasks', async () => {
    await view('status');
    // Block (i, j) of x + x.T needs x's (j, i), kept wherever the root tasks were spread (persisted,
    // so not recomputed in a fused task): some tasks must fetch a block from the other worker.
    const x = await client.persist(ta.random.uniform([1_200, 1_200], { chunks: 300, seed: 5 }));
    const job = await client.submit(x.add(x.T).sum());
    const events: EngineEvent[] = [];
    for await (const ev of job.events()) events.push(ev);
    await job.result();
    const moved = events.flatMap((e) => (e.type === 'task' && e.state === 'memory' && e.transfer ? [e] : []));
    expect(moved.length).toBeGreaterThan(0);
    const ids = new Set(cluster.workers.map((w) => w.id));
    for (const e of moved) {
      const t = e.transfer!;
      expect(t.nbytes).toBeGreaterThan(0);
      for (const from of t.from) {
        expect(ids.has(from)).toBe(true);
        expect(from).not.toBe(e.worker);
      }
      // The fetch ends before the kernel starts (same worker clock).
      expect(t.start).toBeLessThanOrEqual(t.stop);
      expect(t.stop).toBeLessThanOrEqual(e.start! + 1);
    }
    // Some 2.9 MB blocks moved, as the events say.
    expect(moved.some((e) => e.transfer!.nbytes >= 300 * 300 * 8)).toBe(true);

    // The page keeps them on their bars and draws them (hatched grey, with a dark line under).
    const canvas = page.locator('#taskstream');
    await expect.poll(async () => Number(await canvas.getAttribute('data-transfers')), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(async () => Number(await canvas.getAttribute('data-transfers-drawn')), { timeout: 5_000 }).toBeGreaterThan(0);
    const marks = await page.evaluate<number>(`(() => {
      const c = document.getElementById('taskstream');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 0x5b) < 4 && Math.abs(d[i + 1] - 0x64) < 4 && Math.abs(d[i + 2] - 0x74) < 4) n++;
      return n;
    })()`);
    // At least one whole mark (4 px wide at the least, 2 px tall), however short the fetches were.
    expect(marks).toBeGreaterThanOrEqual(8);
    expect(await page.locator('#stream-legend').textContent()).toContain('transfer');
    await shot('status-transfers');
    // The task detail says what was fetched, from where.
    const e = moved[0]!;
    const detail = (await (await fetch(`${dashboard.url}/api/graph/${job.id}/task/${encodeURIComponent(e.key)}`)).json()) as {
      transfer?: { from: string[]; nbytes: number };
    };
    expect(detail.transfer).toEqual(e.transfer);
    await client.unpersist(x);
  });

  it('shows a failing task with its error, in the graph list and the task detail', async () => {
    const err = await client.compute(ta.mapBlocks('no-such-kernel', ta.arange(0, 10, { chunks: 5 }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    await view('graphs');
    const row = page.locator('#graphs-table tr[data-state="erred"]').first();
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('.errtext').textContent()).toMatch(/no kernel registered under the name "no-such-kernel"/);
    await row.click();
    await page.waitForSelector('#gd-error:not([hidden])');
    await page.click('#gd-error');
    await page.waitForSelector('#detail:not([hidden])');
    await expect.poll(() => page.locator('[data-testid="task-error"]').textContent()).toMatch(/no kernel registered/);
    expect(await page.locator('[data-testid="task-key"]').textContent()).toMatch(/^no_such_kernel-[0-9a-f]+:\d$/);
    await shot('graphs-error');
    await page.click('#detail-close');
  });

  it('shows a killed worker as dead', async () => {
    const victim = cluster.workers[0]!.id;
    await cluster.killWorker(victim);
    await view('workers');
    const row = page.locator(`#workers-table tr[data-worker="${victim}"]`);
    await expect.poll(() => row.getAttribute('data-alive'), { timeout: 15_000 }).toBe('false');
    expect(await row.locator('.badge').textContent()).toBe('dead');
    await cluster.addWorker();
    await page.waitForFunction(`document.querySelectorAll('#workers-table tr[data-alive="true"]').length === 2`, undefined, {
      timeout: 15_000,
    });
    await shot('workers');
  });

  it('sends each browser a bounded number of messages a second while a large graph runs', async () => {
    const job = await client.submit(ta.arange(0, 1_500, { chunks: 1 }).add(1).mul(2).sum());
    // The page stays responsive while it runs: a frame comes soon after it is asked for.
    await view('status');
    let slowest = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      await page.evaluate('new Promise((r) => requestAnimationFrame(() => r(0)))');
      slowest = Math.max(slowest, Date.now() - t0);
    }
    expect(slowest).toBeLessThan(1_000);
    const res = await fetch(`${dashboard.url}/stream`);
    const reader = res.body!.getReader();
    const parser = new SseParser();
    const received: SseMessage[] = [];
    const started = Date.now();
    while (Date.now() - started < 2_000) {
      const r = await Promise.race([
        reader.read(),
        new Promise<undefined>((ok) => setTimeout(() => ok(undefined), 2_100 - (Date.now() - started))),
      ]);
      if (!r || r.done) break;
      received.push(...parser.feed(r.value));
    }
    await reader.cancel();
    // What the page gets is protocol's DashboardMessage: a snapshot first, then ticks, each named by its event.
    const parsed = received.map((m) => ({ event: m.event, msg: DashboardMessage.parse(JSON.parse(m.data)) }));
    expect(parsed[0]?.msg.type).toBe('snapshot');
    for (const p of parsed) expect(p.msg.type).toBe(p.event);
    expect(parsed.slice(1).every((p) => p.msg.type === 'tick')).toBe(true);
    const messages = parsed.length;
    // A snapshot, then a tick every 250 ms at most: ~9 in 2 s, whatever the event rate.
    expect(messages).toBeGreaterThanOrEqual(3);
    expect(messages).toBeLessThanOrEqual(11);
    await job.result();
    // More tasks than the task view draws: the graph is shown by task group.
    await view('graphs');
    await page.locator(`#graphs-table tr[data-graph="${job.id}"]`).click();
    await expect.poll(() => page.locator('#gd-note').textContent()).toMatch(/task groups \(the graph has more tasks/);
    await shot('graphs-groups');
  });

  it('serves the feed, graph structure and history from the scheduler', async () => {
    // The cluster-wide feed: every graph's events, as SSE.
    const feed = await fetch(`${cluster.url}/api/events`);
    expect(feed.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events: EngineEvent[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      for await (const piece of feed.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(piece, { stream: true });
        for (const line of buf.split('\n')) if (line.startsWith('data: ')) events.push(...(JSON.parse(line.slice(6)) as EngineEvent[]));
        buf = buf.slice(buf.lastIndexOf('\n') + 1);
        if (events.some((e) => e.type === 'graph' && e.state === 'finished')) return;
      }
    })();
    const job = await client.submit(ta.mapBlocks('slow-copy', ta.arange(0, 100, { chunks: 10 }), { params: { ms: 200 } }).sum());
    const s = GraphStructure.parse(await (await fetch(`${cluster.url}/api/graphs/${job.id}/structure`)).json());
    expect(s.total).toBeGreaterThanOrEqual(21);
    expect(s.tasks).toHaveLength(s.total);
    expect(s.groups.find((g) => g.op === 'slow_copy')?.total).toBe(10);
    const groupsOnly = GraphStructure.parse(await (await fetch(`${cluster.url}/api/graphs/${job.id}/structure?maxTasks=5`)).json());
    expect(groupsOnly.tasks).toBeUndefined();
    await job.result();
    await Promise.race([reading, new Promise((r) => setTimeout(r, 10_000))]);
    await feed.body?.cancel().catch(() => undefined);
    const mine = events.filter((e) => e.graph === job.id);
    expect(mine.filter((e) => e.type === 'task' && e.state === 'memory' && e.worker).length).toBe(s.total);
    expect(mine.at(-1)).toMatchObject({ type: 'graph', state: 'finished' });
    await until('the graph in the history', async () => {
      const h = GraphHistory.parse(await (await fetch(`${cluster.url}/api/history`)).json());
      return h.graphs.some((g) => g.id === job.id && g.state === 'finished');
    });
  });

  it('keeps finished graphs visible after the cluster restarts', async () => {
    await view('graphs');
    const before = await page
      .locator('#graphs-table tbody tr[data-graph]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-graph')));
    expect(before.length).toBeGreaterThanOrEqual(3);
    await cluster.killScheduler();
    await dashboard.stop();
    await cluster.startScheduler();
    dashboard = await startDashboard(cluster.url, log, DASHBOARD_FLAGS);
    await page.goto(`${dashboard.url}/#graphs`);
    await page.waitForFunction(`document.querySelectorAll('#graphs-table tbody tr[data-graph]').length >= ${before.length}`, undefined, {
      timeout: 15_000,
    });
    const after = await page
      .locator('#graphs-table tbody tr[data-graph]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-graph')));
    for (const id of before) expect(after).toContain(id);
    expect(await page.locator('#graphs-table tr[data-state="erred"] .errtext').first().textContent()).toMatch(/no kernel registered/);
    await shot('graphs-history');
    expect(pageErrors).toEqual([]);
  });
});
