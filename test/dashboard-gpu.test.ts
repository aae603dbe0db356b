// The dashboard's GPU panel (what gpustat shows) over the local engine on a GPU (Mesa's
// lavapipe in CI), in headless Chromium: device memory held by chunks, copies per second, GPU
// tasks. Screenshot: test-artifacts/dashboard/local-gpu.png.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/dashboard/', import.meta.url));

describe('dashboard GPU panel on the local engine', { timeout: 240_000 }, () => {
  let client: ta.Client;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    client = await ta.Client.connect({ threads: 2, gpu: true, dashboard: { port: 0, quiet: true } });
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(client.dashboardLink!);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await client?.close();
  });

  it('shows the adapter, the device memory the chunks hold and the GPU tasks run', async () => {
    const x = ta.random.uniform([512, 512], { chunks: [128, 128], seed: 2, dtype: 'float32' });
    // Persisted on the device: the chunks stay in device memory while the panel is read.
    const kept = await client.persist(ta.sin(x).mul(2), { device: 'gpu' });
    await page.click('.tabs a[data-view="workers"]');
    const row = page.locator('#gpu-table tr[data-gpu-worker="local"]');
    await row.waitFor({ timeout: 20_000 });
    await expect.poll(async () => Number(await row.locator('[data-gpu-tasks]').getAttribute('data-gpu-tasks')), { timeout: 20_000 }).toBeGreaterThanOrEqual(16);
    const text = (await row.textContent()) ?? '';
    expect(text).toMatch(/llvmpipe|lavapipe|software|\w+/);
    expect(text).toMatch(/MiB|KiB/);
    await page.screenshot({ path: `${ARTIFACTS}local-gpu.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
    await client.unpersist(kept);
  });
});
