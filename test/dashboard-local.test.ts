// The dashboard over the embedded local engine, in a real browser: Client.connect({ dashboard })
// starts it in this process (no scheduler, no Redis); headless Chromium looks at the page.
// Screenshots go to test-artifacts/dashboard/local-*.png.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { startDashboard } from '@tessera/dashboard';
import { InvalidArgumentError } from '@tessera/protocol';

const kernels = fileURLToPath(new URL('./fixtures/cluster-kernels.mjs', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/dashboard/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('dashboard on the local engine', { timeout: 90_000 }, () => {
  let client: ta.Client;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
  const view = async (name: 'status' | 'workers' | 'graphs') => {
    await page.click(`.tabs a[data-view="${name}"]`);
    await page.waitForSelector(`#view-${name}:not([hidden])`);
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    client = await ta.Client.connect({ threads: 2, kernels: [kernels], dashboard: { port: 0, quiet: true } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    expect(client.dashboardLink).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await page.goto(client.dashboardLink!);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await client?.close();
  });

  it('shows the engine as one worker: this host, its pool threads, what it holds', async () => {
    await view('workers');
    const row = page.locator('#workers-table tr[data-worker="local"]');
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => row.locator('td').nth(1).textContent()).toBe('alive');
    expect(await row.locator('td').nth(3).textContent()).toBe('2');
    expect(await row.locator('td').nth(4).textContent()).toBe('cpu');
    expect(await row.textContent()).toContain(hostname());
    expect(await page.locator('#conn-text').textContent()).toContain('local engine');
  });

  it('follows a graph on the engine: progress to 100% and a lane per pool thread', async () => {
    await view('status');
    const x = ta.arange(0, 24_000, { chunks: 1_000 });
    const y = ta.mapBlocks('slow-copy', ta.mapBlocks('slow-copy', x, { params: { ms: 60 } }), { params: { ms: 40 } }).sum();
    const x2 = ta.arange(0, 24_000, { chunks: 1_000 });
    const kept = await client.persist(ta.mapBlocks('slow-copy', x2, { params: { ms: 1 } }));
    const job = await client.submit(y);
    const row = page.locator(`[data-testid="graph-progress"][data-graph="${job.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await expect
      .poll(async () => Number((await row.locator('.pct').textContent())?.replace('%', '')), { timeout: 15_000 })
      .toBeGreaterThan(10);
    await shot('local-status-running');
    expect(await job.result()).toBe((23_999 * 24_000) / 2);
    await expect.poll(() => row.locator('.pct').textContent(), { timeout: 10_000 }).toBe('100%');
    expect(await page.locator('#progress .prow').count()).toBeGreaterThanOrEqual(3);
    // The task stream has one lane per pool thread of the one worker, with bars on them.
    const canvas = page.locator('#taskstream');
    await expect.poll(() => canvas.getAttribute('data-lanes'), { timeout: 10_000 }).toBe('local/0 local/1');
    expect(Number(await canvas.getAttribute('data-bars'))).toBeGreaterThanOrEqual(48);
    const painted = await page.evaluate<number>(`(() => {
      const c = document.getElementById('taskstream');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.abs(d[i] - d[i + 1]) + Math.abs(d[i + 1] - d[i + 2]) > 60) coloured++;
      return coloured;
    })()`);
    expect(painted).toBeGreaterThan(500);
    await shot('local-status-finished');

    // The worker row counts what the engine holds: the persisted blocks.
    await view('workers');
    const chunks = page.locator('#workers-table tr[data-worker="local"] td').nth(6);
    await expect.poll(async () => Number(await chunks.textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(24);
    await shot('local-workers');
    await client.unpersist(kept);

    // The graphs view lists the graph finished.
    await view('graphs');
    await page.waitForSelector(`#graphs-table tr[data-graph="${job.id}"]`, { timeout: 10_000 });
    await shot('local-graphs');
    expect(pageErrors).toEqual([]);
  });

  it('refuses an engine without a monitor, and both sources at once', async () => {
    const plain = { ...client.engine, monitor: undefined };
    await expect(startDashboard({ engine: plain, port: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(startDashboard({ engine: client.engine, scheduler: 'http://127.0.0.1:1', port: 0 })).rejects.toThrow(/either scheduler/);
  });
});
