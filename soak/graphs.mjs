// The soak's graphs: each builds an array job with an answer known without running it (closed
// forms, or a plain loop in JS), runs it on a Client and says whether what came back is right.
// Every value is an integer below 2^53 held in float64, so "right" means equal, not close.
import * as ta from '@tessera/client';

const rand = (lo, hi) => {
  const a = Math.ceil(lo);
  return a + Math.floor(Math.random() * (Math.floor(hi) - a + 1));
};
const f64 = { dtype: 'float64' };

/** A chunk length that cuts `n` unevenly (a last, shorter chunk) most of the time. */
function chunkOf(n, min, max) {
  return Math.max(1, Math.min(n, rand(min, max)));
}

function same(got, want, what) {
  if (got === want) return undefined;
  return `${what}: got ${got}, want ${want}`;
}

function sameVector(got, want, what) {
  if (got.data.length !== want.length) return `${what}: ${got.data.length} values, want ${want.length}`;
  for (let i = 0; i < want.length; i++) if (got.data[i] !== want[i]) return `${what}[${i}]: got ${got.data[i]}, want ${want[i]}`;
  return undefined;
}

/**
 * Each kind: `run(client, ctx)` resolves to undefined when the answer is right, or a string
 * saying what is wrong; typed errors are thrown. `ctx.onEvent` sees the graph's events.
 */
export const KINDS = {
  /** sum(2x + 1) over arange(n) is n². */
  async elementwise(client, ctx) {
    const n = rand(1_000, 300_000);
    const x = ta.arange(n, { ...f64, chunks: [chunkOf(n, n / 40, n / 3)] });
    return same(await client.compute(x.mul(2).add(1).sum(), ctx.opts), n * n, `sum(2 arange(${n}) + 1)`);
  },

  /** Thousands of one-element tasks and their reduction tree: sum(ones(m) + 1) = 2m. */
  async tiny(client, ctx) {
    const m = rand(200, 1_500);
    return same(
      await client.compute(
        ta
          .ones([m], { chunks: [1] })
          .add(1)
          .sum(),
        ctx.opts,
      ),
      2 * m,
      `sum(ones(${m}, chunks 1) + 1)`,
    );
  },

  /** A chain of k steps with a rechunk half way: sum = n(n-1)/2 + k n. */
  async chain(client, ctx) {
    const n = rand(5_000, 100_000);
    const k = rand(6, 24);
    let x = ta.arange(n, { ...f64, chunks: [chunkOf(n, n / 20, n / 4)] });
    for (let i = 0; i < k; i++) {
      x = x.add(1);
      if (i === k >> 1) x = x.rechunk([chunkOf(n, n / 30, n / 2)]);
    }
    return same(await client.compute(x.sum(), ctx.opts), (n * (n - 1)) / 2 + k * n, `sum(arange(${n}) + ${k} steps)`);
  },

  /** Column sums of a + aᵀ on a square grid with odd chunks (a transpose moves blocks between workers). */
  async transpose(client, ctx) {
    const n = rand(40, 300);
    const a = ta
      .arange(n * n, { ...f64, chunks: [n * n] })
      .reshape([n, n])
      .rechunk([chunkOf(n, 7, n / 2), chunkOf(n, 7, n / 2)]);
    const got = await client.compute(a.add(a.T).sum({ axis: 0 }), ctx.opts);
    const want = new Array(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) want[j] += i * n + j + (j * n + i);
    return sameVector(got, want, `sum(a + a.T, axis 0), n ${n}`);
  },

  /** A persisted array read by two graphs, then let go: 3 n(n-1)/2 and that plus n. */
  async persist(client, ctx) {
    const n = rand(10_000, 200_000);
    const p = await client.persist(ta.arange(n, { ...f64, chunks: [chunkOf(n, n / 16, n / 4)] }).mul(3), ctx.opts);
    try {
      const base = (3 * n * (n - 1)) / 2;
      return (
        same(await client.compute(p.sum(), ctx.opts), base, `sum(persisted 3 arange(${n}))`) ??
        same(await client.compute(p.add(1).sum(), ctx.opts), base + n, `sum(persisted 3 arange(${n}) + 1)`)
      );
    } finally {
      await client.unpersist(p).catch(() => undefined);
    }
  },

  /** Chunks worth more than the workers' memory limits: spilled to disk (and hit by a full disk). */
  async spill(client, ctx) {
    const n = rand(2_000_000, 4_000_000);
    const p = await client.persist(ta.arange(n, { ...f64, chunks: [250_000] }), ctx.opts);
    try {
      return same(await client.compute(p.sum(), ctx.opts), (n * (n - 1)) / 2, `sum(persisted arange(${n}))`);
    } finally {
      await client.unpersist(p).catch(() => undefined);
    }
  },

  /** Cancelled at a random moment: a CancelledError, or the right answer if it won the race. */
  async cancel(client, ctx) {
    const m = rand(1_000, 3_000);
    const job = await client.submit(
      ta
        .ones([m], { chunks: [1] })
        .add(1)
        .sum(),
      ctx.opts,
    );
    setTimeout(() => void job.cancel().catch(() => undefined), rand(0, 400));
    try {
      return same(await job.result(), 2 * m, `sum(ones(${m}) + 1), cancelled late`);
    } catch (e) {
      if (e instanceof ta.CancelledError || e?.code === 'CANCELLED') return 'cancelled';
      throw e;
    }
  },
};

/** How often each kind comes up. */
export const WEIGHTS = { elementwise: 4, tiny: 3, chain: 3, transpose: 3, persist: 2, spill: 1, cancel: 2 };

export function pickKind() {
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  let r = Math.random() * total;
  for (const [k, w] of Object.entries(WEIGHTS)) if ((r -= w) < 0) return k;
  return 'elementwise';
}
