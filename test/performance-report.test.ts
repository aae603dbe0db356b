// compute(x, { report }) (Dask's performance_report): one self-contained HTML file, opened
// offline in headless Chromium (no network: any fetch would fail), and the same data as JSON; on
// the local engine and a real cluster. Screenshots go to test-artifacts/report/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { engineClient } from './cluster.test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-report-'));
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/report/', import.meta.url));
let browser: Browser;
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The report opened from disk: what the page draws, and every request it tried. */
async function open(file: string, shot: string): Promise<{ bars: number; ops: string[]; workers: string[]; summary: string; errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${file}`);
  await page.screenshot({ path: `${ARTIFACTS}${shot}.png`, fullPage: true });
  const out = {
    bars: await page.locator('#stream rect.bar').count(),
    ops: await page.locator('#ops tr td:first-child').allTextContents(),
    workers: await page.locator('#workers tr td:first-child').allTextContents(),
    summary: (await page.locator('#summary').textContent()) ?? '',
    errors,
    requests: requests.filter((u) => u !== `file://${file}`),
  };
  await page.close();
  return out;
}

describe.each(['local', 'cluster'] as const)('performance report on the %s engine', (engine) => {
  const eng = engineClient(engine);

  it('shows the task stream, the time per op and the workers, offline; the JSON holds the same counts', { timeout: 60_000 }, async () => {
    const x = ta.random.uniform([1200, 1200], { chunks: [300, 300], seed: 1 });
    const expr = x.add(x.T).matmul(x).sum();
    const html = join(dir, `${engine}.html`);
    const json = join(dir, `${engine}.json`);
    const want = await eng.client.compute(expr);
    expect(await eng.client.compute(expr, { report: html })).toBeCloseTo(want, 6);
    await eng.client.compute(expr, { report: json });
    const data = JSON.parse(readFileSync(json, 'utf8')) as ta.PerformanceReport;
    expect(data.graph.state).toBe('finished');
    expect(data.stream.total).toBe(data.ops.reduce((s, o) => s + o.tasks, 0));
    expect(data.stream.sampled).toBe(false);
    expect(data.ops.map((o) => o.op)).toEqual(expect.arrayContaining(['matmul', 'uniform']));
    expect(data.memory.length).toBeGreaterThan(0);
    expect(data.workers.reduce((s, w) => s + w.tasks, 0)).toBe(data.stream.total);
    // The local engine never spills; a cluster's workers with 60% of RAM do not here either.
    if (engine === 'local') expect(data.spills).toEqual([]);
    else expect(data.spills.every((s) => s.writes === 0)).toBe(true);
    if (engine === 'cluster') {
      expect(data.workers.map((w) => w.worker).sort()).toEqual(eng.cluster!.workers.map((w) => w.id).sort());
      expect(data.transfers.tasks).toBeGreaterThan(0); // x.T and the matmul read blocks of the other worker
    }
    const page = await open(html, engine);
    expect(page.errors).toEqual([]);
    expect(page.requests).toEqual([]);
    expect(page.bars).toBe(data.stream.total);
    expect(page.ops).toEqual(expect.arrayContaining(['matmul', 'uniform']));
    expect(page.workers).toHaveLength(data.workers.length);
    expect(page.summary).toContain('finished');
  });

  it('a graph that fails still gets its report, with the error', { timeout: 60_000 }, async () => {
    const file = join(dir, `${engine}-failed.html`);
    const bad = ta.mapBlocks('no-such-kernel', ta.ones([10], { chunks: [5] }), { dtype: 'float64' });
    await expect(eng.client.compute(bad.sum(), { report: file })).rejects.toThrow(/no-such-kernel/);
    const page = await open(file, `${engine}-failed`);
    expect(page.summary).toContain('erred');
    expect(page.errors).toEqual([]);
  });
});

describe('performance report of a big graph', () => {
  const eng = engineClient('local');

  it('100,000 tasks: the stream is an even sample, the file stays small, the tables count every task', { timeout: 120_000 }, async () => {
    const html = join(dir, 'big.html');
    expect(await eng.client.compute(ta.ones([100_000], { chunks: [1] }).add(1).sum(), { report: html })).toBe(200_000);
    // The page's own data, as the JSON report would hold it.
    const embedded = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(readFileSync(html, 'utf8'))![1]!;
    const data = JSON.parse(embedded) as ta.PerformanceReport;
    expect(data.stream.sampled).toBe(true);
    expect(data.stream.bars.length).toBeLessThanOrEqual(20_000);
    expect(data.stream.total).toBeGreaterThan(100_000);
    expect(statSync(html).size).toBeLessThan(1.5 * 2 ** 20);
    const page = await open(html, 'big');
    expect(page.errors).toEqual([]);
    expect(page.bars).toBeLessThanOrEqual(20_000);
  });

  it('a report path that is not one is refused before anything runs', async () => {
    await expect(eng.client.compute(ta.ones([3]).sum(), { report: '' })).rejects.toThrow(/report must be a file path/);
  });
});

describe('performance report of a cluster whose workers spill', () => {
  // 6 MB of chunk memory each: past 70% of it idle chunks go to disk.
  const eng = engineClient('cluster', { env: { TESSERA_MEMORY_LIMIT: String(6 * 2 ** 20) } });

  it('counts each worker\'s spill writes and reads while the graph ran, and draws the bytes on disk', { timeout: 90_000 }, async () => {
    // x persisted: 64 blocks of 500 KB, 32 MB against 12 MB of chunk memory in all, mostly on
    // disk; the graph reads them back, and what it reads pushes others out again.
    const x = await eng.client.persist(ta.random.uniform([2000, 2000], { chunks: [250, 250], seed: 3 }));
    const expr = x.add(x.T).sum();
    const json = join(dir, 'spills.json');
    const html = join(dir, 'spills.html');
    await eng.client.compute(expr, { report: json });
    const data = JSON.parse(readFileSync(json, 'utf8')) as ta.PerformanceReport;
    expect(data.spills.map((s) => s.worker).sort()).toEqual(eng.cluster!.workers.map((w) => w.id).sort());
    const writes = data.spills.reduce((s, w) => s + w.writes, 0);
    expect(writes).toBeGreaterThan(0);
    expect(data.spills.reduce((s, w) => s + w.writeBytes, 0)).toBeGreaterThan(0);
    expect(data.spills.reduce((s, w) => s + w.reads, 0)).toBeGreaterThan(0);
    expect(data.memory.some((m) => (m.disk ?? 0) > 0)).toBe(true);
    await eng.client.compute(expr, { report: html });
    const page = await browser.newPage();
    await page.goto(`file://${html}`);
    const rows = await page.locator('#spills tr').count();
    const dashed = await page.locator('#memory polyline.disk-line').count();
    await page.screenshot({ path: `${ARTIFACTS}spills.png`, fullPage: true });
    await page.close();
    expect(rows).toBe(1 + eng.cluster!.workers.length);
    expect(dashed).toBeGreaterThan(0);
  });
});
