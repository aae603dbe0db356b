// The bytes of a Zarr array never pass through the client: a cluster reads an array several
// times larger than the client may hold (its heap capped by --max-old-space-size, its peak
// resident memory measured) and writes a reduction to a new Zarr array, checked by numpy.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, type TestCluster } from './cluster.test-util.js';

const CLIENT = fileURLToPath(new URL('./fixtures/zarr-mean-client.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tessera-zarr-heap-'));
const py = (code: string): string => execFileSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8', cwd: dir });
const ROWS = 6144;
const COLS = 8192; // float64: 384 MiB

describe('a Zarr job on a cluster, run by a client with a 48 MiB old space', () => {
  let redis: TestRedis;
  let cluster: TestCluster;
  beforeAll(async () => {
    py(`
import zarr, numcodecs, numpy as np
z = zarr.open('src.zarr', mode='w', shape=(${ROWS}, ${COLS}), chunks=(512, 2048), dtype='f8', compressor=numcodecs.Zstd(level=1))
rng = np.random.default_rng(7)
for r in range(0, ${ROWS}, 512): z[r:r + 512] = rng.standard_normal((512, ${COLS})) + np.arange(${COLS}) / ${COLS}
`);
    redis = await testRedis();
    cluster = await startCluster({ redis: redis.url, workers: 2, threads: 1 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    if (cluster && redis) await redis.deletePrefix(cluster.prefix);
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads, reduces and writes without the array passing through the client', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-old-space-size=48', CLIENT, cluster.url, join(dir, 'src.zarr'), join(dir, 'mean.zarr')], {
      encoding: 'utf8',
      timeout: 240_000,
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { maxRssBytes: number; heapLimitBytes: number; sourceBytes: number };
    expect(r.sourceBytes).toBe(ROWS * COLS * 8);
    expect(r.heapLimitBytes).toBeLessThan(r.sourceBytes / 3);
    // The client's whole process stayed well under the array's size (Node's own baseline is ~60-100 MiB).
    expect(r.maxRssBytes).toBeLessThan(r.sourceBytes / 2);
    const ok = py(`
import zarr, numpy as np
m = zarr.open('mean.zarr', mode='r')
want = zarr.open('src.zarr', mode='r')[...].mean(axis=0)
print(m.shape == (${COLS},) and m.chunks == (1024,) and bool(np.allclose(m[...], want, rtol=1e-12, atol=1e-12)))
`);
    expect(ok.trim()).toBe('True');
  }, 300_000);
});
