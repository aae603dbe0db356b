// The benchmark workloads: sizes (the one source of truth, passed to both engines' children) and
// what a correct result looks like. Random values differ between Tessera's and Dask's generators,
// so random workloads are checked against their statistics (within 6 sigma), deterministic ones
// exactly.

const MiB = 2 ** 20;

/** @typedef {{ n: number, c?: number, m?: number }} Params */

/**
 * @type {Record<string, {
 *   title: string,
 *   full: Params, quick: Params,
 *   inputBytes: (p: Params) => number,
 *   expect: (p: Params) => { value: number, tol: number, exact?: boolean, why: string },
 * }>}
 */
const SUM_XXT = {
  title: 'sum(x + x.T), x uniform n×n float64',
  full: { n: 8000, c: 1000 },
  quick: { n: 2000, c: 500 },
  inputBytes: (p) => p.n * p.n * 8,
  // sum(x + x.T) = 2 sum(x): mean n², sd 2·sqrt(n²/12) = n/sqrt(3)
  expect: (p) => ({ value: p.n * p.n, tol: (6 * p.n) / Math.sqrt(3), why: '2·sum(x) ~ N(n², n²/3)' }),
};

/** sum(a @ a.T), a uniform: Σ_k (column sum k)², each ~ (n²/4 + n/12, n³/12). */
const SUM_AAT = (full, quick) => ({
  title: `sum(a @ a.T), a uniform n×n float64 (${full.c === full.n ? 'one chunk' : 'square chunks'})`,
  full,
  quick,
  inputBytes: (p) => p.n * p.n * 8,
  expect: (p) => ({ value: p.n ** 3 / 4 + p.n ** 2 / 12, tol: (6 * p.n ** 2) / Math.sqrt(12), why: 'Σ_k colsum_k² ~ (n³/4 + n²/12, n⁴/12)' }),
});

export const WORKLOADS = {
  'tiny-tasks': {
    title: 'per-task overhead: sum(ones(n, chunks=1) + 1)',
    full: { n: 10_000 },
    quick: { n: 1000 },
    inputBytes: (p) => p.n * 8,
    expect: (p) => ({ value: 2 * p.n, tol: 0, exact: true, why: 'sum of n twos' }),
  },
  'sum-xxt': SUM_XXT,
  // The same graph with fusion off: every block of x is materialised (nothing is regenerated in
  // place), so peak memory shows the ordering and early freeing at work. Tessera only.
  'sum-xxt-unfused': { ...SUM_XXT, title: 'sum(x + x.T) with fusion off: x materialised block by block', tesseraOnly: true },
  'std-mean': {
    title: 'std(mean(x, axis=0)), same x',
    full: { n: 8000, c: 1000 },
    quick: { n: 2000, c: 500 },
    inputBytes: (p) => p.n * p.n * 8,
    // column means ~ N(1/2, 1/(12n)); their sample sd has relative sd ≈ 1/sqrt(2n)
    expect: (p) => {
      const sd = Math.sqrt(1 / (12 * p.n));
      return { value: sd, tol: (6 * sd) / Math.sqrt(2 * p.n), why: 'sd of n column means of n uniforms ≈ 1/sqrt(12n)' };
    },
  },
  matmul: {
    title: 'sum(a @ b), a, b uniform n×n float64',
    full: { n: 4000, c: 1000 },
    quick: { n: 1000, c: 250 },
    inputBytes: (p) => 2 * p.n * p.n * 8,
    // sum(a@b) = Σ_k colsum(a)_k · rowsum(b)_k: mean n³/4, variance ≈ n⁴/24 (+ n³/144)
    expect: (p) => ({
      value: p.n ** 3 / 4,
      tol: 6 * Math.sqrt(p.n ** 4 / 24 + p.n ** 3 / 144),
      why: 'Σ_k colsum_a·rowsum_b ~ (n³/4, n⁴/24)',
    }),
  },
  // a @ a.T (a Gram matrix) in square chunks, and one chunk alone (the GEMM kernel against numpy's).
  'sum-aat': SUM_AAT({ n: 3000, c: 750 }, { n: 1000, c: 250 }),
  'sum-aat-4000': SUM_AAT({ n: 4000, c: 1000 }, { n: 1000, c: 500 }),
  'matmul-1chunk': SUM_AAT({ n: 3000, c: 3000 }, { n: 1000, c: 1000 }),
  take: {
    title: 'fancy indexing: sum(x[idx]), x = arange(n) float64, m indices in a scattered order',
    full: { n: 4_000_000, c: 250_000, m: 1_000_000 },
    quick: { n: 400_000, c: 50_000, m: 100_000 },
    inputBytes: (p) => p.n * 8,
    // x[i] = i, so the sum is that of the indices (i * 7919) mod n: exact in float64.
    expect: (p) => {
      let s = 0;
      for (let i = 0; i < p.m; i++) s += (i * 7919) % p.n;
      return { value: s, tol: 0, exact: true, why: 'Σ (i · 7919 mod n), exactly' };
    },
  },
  int64: {
    title: 'integer arithmetic: sum((x * x) % 7919 + x // 3), x = arange(n) int64',
    full: { n: 16_000_000, c: 1_000_000 },
    quick: { n: 2_000_000, c: 250_000 },
    inputBytes: (p) => p.n * 8,
    expect: (p) => {
      let s = 0;
      for (let i = 0; i < p.n; i++) s += ((i * i) % 7919) + Math.floor(i / 3);
      return { value: s, tol: 0, exact: true, why: 'Σ (i² mod 7919 + ⌊i/3⌋), exactly (below 2^53)' };
    },
  },
  'sin-cos': {
    title: 'sum(sin(y)² + cos(y)²), y uniform, n elements',
    full: { n: 64_000_000, c: 1_000_000 },
    quick: { n: 4_000_000, c: 250_000 },
    inputBytes: (p) => p.n * 8,
    expect: (p) => ({ value: p.n, tol: 1e-6 * p.n, why: 'sin² + cos² = 1, to 1e-6 relative' }),
  },
  // Sorting and selection (the array API, part 2): Dask has no sort, so its side sorts each row
  // of the rechunked array with map_blocks(np.sort), what a Dask user writes.
  'sort-rows': {
    title: 'sum(sort(x, axis=1) * arange(m)), x uniform n×m float64 (rows gathered whole)',
    full: { n: 4000, m: 4000, c: 1000 },
    quick: { n: 1000, m: 1000, c: 250 },
    inputBytes: (p) => p.n * p.m * 8,
    // E[j-th smallest of m uniforms] = (j + 1)/(m + 1): a row gives Σ j (j + 1)/(m + 1) = (m - 1) m / 3.
    expect: (p) => ({ value: (p.n * (p.m - 1) * p.m) / 3, tol: (1e-3 * p.n * (p.m - 1) * p.m) / 3, why: 'Σ_j j·E[x_(j)] = (m - 1)m/3 per row, to 1e-3' }),
  },
  topk: {
    title: 'sum(topk(y, 100)), y uniform, n elements (a tree over the blocks)',
    full: { n: 16_000_000, c: 1_000_000, m: 100 },
    quick: { n: 2_000_000, c: 250_000, m: 100 },
    inputBytes: (p) => p.n * 8,
    // E[i-th largest of n uniforms] = 1 - i/(n + 1).
    // The sum's standard deviation is about √(k³/3)/n (the top k sit on sums of exponential gaps).
    expect: (p) => ({ value: p.m - (p.m * (p.m + 1)) / (2 * (p.n + 1)), tol: (6 * Math.sqrt(p.m ** 3 / 3)) / p.n, why: 'Σ_i (1 - i/(n + 1)) over the k largest, to 6σ' }),
  },
  histogram: {
    title: 'sum(histogram(y, bins=100, range=(0, 1))[0]), y uniform, n elements',
    full: { n: 16_000_000, c: 1_000_000 },
    quick: { n: 2_000_000, c: 250_000 },
    inputBytes: (p) => p.n * 8,
    expect: (p) => ({ value: p.n, tol: 0, exact: true, why: 'every value of [0, 1) is counted once' }),
  },
  // Linear algebra (the array API, part 2): TSQR of a tall-and-skinny array, blocked Cholesky.
  qr: {
    title: 'sum(Q * Q) of qr(x), x uniform n×m float64 in c-row blocks (TSQR)',
    full: { n: 2_000_000, m: 50, c: 100_000 },
    quick: { n: 200_000, m: 50, c: 20_000 },
    inputBytes: (p) => p.n * p.m * 8,
    expect: (p) => ({ value: p.m, tol: 1e-8 * p.m, why: "Q's m columns are orthonormal: trace(QᵀQ) = m" }),
  },
  cholesky: {
    title: 'sum(L * L) of cholesky(n·I + (x + xᵀ)/2), x uniform n×n float64 in c×c blocks',
    full: { n: 4000, c: 1000 },
    quick: { n: 2000, c: 500 },
    inputBytes: (p) => p.n * p.n * 8,
    // trace(L Lᵀ) = trace(A) = n² + Σ x_ii, whose mean is n/2 and standard deviation √(n/12).
    expect: (p) => ({ value: p.n * p.n + p.n / 2, tol: 6 * Math.sqrt(p.n / 12) + 1e-9 * p.n * p.n, why: 'trace(L Lᵀ) = trace(A) = n² + Σ x_ii, to 6σ' }),
  },
  // Randomised SVD (Halko et al.): the k leading singular values of a tall-and-skinny array.
  'svd-compressed': {
    title: 'max(s) of svdCompressed(x, k=10), x uniform n×m float64 in c-row blocks',
    full: { n: 2_000_000, m: 100, c: 100_000 },
    quick: { n: 200_000, m: 100, c: 20_000 },
    inputBytes: (p) => p.n * p.m * 8,
    // x = J/2 + E (E of variance 1/12): the top singular value² ≈ nm/4 + (n + m)/12, within the
    // spread of E's own top singular value, (√n + √m)/√12.
    expect: (p) => ({ value: Math.sqrt((p.n * p.m) / 4 + (p.n + p.m) / 12), tol: 6 * (Math.sqrt(p.n) + Math.sqrt(p.m)) / Math.sqrt(12), why: "s₀ ≈ √(nm/4 + (n+m)/12), within E's top singular value" }),
  },
  // FFT: a 2-d transform of an array in row blocks (Dask needs it in one block; Tessera goes axis by axis).
  fft2: {
    title: 'sum(|fft2(x)|²), x uniform n×n float64 in c-row blocks',
    full: { n: 4096, c: 512 },
    quick: { n: 1024, c: 256 },
    inputBytes: (p) => p.n * p.n * 8,
    // Parseval: Σ|X|² = n² Σx², and Σx² over n² uniforms ~ (n²/3, n²·4/45).
    expect: (p) => ({ value: p.n ** 4 / 3, tol: 6 * p.n ** 2 * p.n * Math.sqrt(4 / 45), why: 'Parseval: n²·Σx² ~ n²·(n²/3, n²·4/45), to 6σ' }),
  },
  // Neighbourhoods: a 3-d stencil through mapOverlap (halo exchange between neighbouring blocks).
  'map-overlap': {
    title: 'sum(L * L), L the periodic 7-point Laplacian of x by mapOverlap (depth 1), x uniform n³ float64 in c³ blocks',
    full: { n: 384, c: 128 },
    quick: { n: 128, c: 64 },
    inputBytes: (p) => p.n ** 3 * 8,
    // L = the 6 neighbours - 6x: mean 0, variance 42/12 = 3.5, so E[L²] = 3.5; L² of points up to
    // 2 apart are correlated (13 of them), which the tolerance allows for.
    expect: (p) => ({ value: 3.5 * p.n ** 3, tol: 6 * Math.sqrt(p.n ** 3 * 24.5 * 13), why: 'E[L²] = 6/12 + 36/12 = 3.5 per point, to 6σ' }),
  },
};

export const NAMES = Object.keys(WORKLOADS);

/**
 * Cluster mode (bench/cluster.mjs): a scheduler and 2 single-threaded workers against Dask
 * distributed's LocalCluster of 2 single-threaded worker processes. The array workloads keep the
 * local sizes above (each takes seconds on the cluster); three more measure the scheduler itself.
 * `result` is always one number: the sum of what came back, or the chain's last value.
 */
export const CLUSTER_WORKLOADS = {
  // Every block is an output, so nothing reduces them on the cluster: n independent tasks, n results.
  'tiny-tasks': {
    title: 'n independent tiny tasks: ones(n, chunks=1) + 1, all n blocks gathered',
    full: { n: 10_000 },
    quick: { n: 1000 },
    expect: (p) => ({ value: 2 * p.n, tol: 0, exact: true, why: 'n twos come back' }),
  },
  chain: {
    title: 'n dependent tasks: x = zeros(1); x = x + 1, n times, fusion off (Dask: delayed inc chain)',
    full: { n: 1000 },
    quick: { n: 200 },
    expect: (p) => ({ value: p.n, tol: 0, exact: true, why: 'n increments of 0' }),
  },
  // ~n + n/3 tasks (the tree reduction has fan-in 4): 75,000 blocks make ~100,000 tasks.
  'graph-100k': {
    title: 'sum(ones(n, chunks=1) + 1) as one ~100,000-task graph: scheduler RSS, Redis bytes/task, keys left',
    full: { n: 75_000 },
    quick: { n: 3750 },
    tesseraOnly: true,
    expect: (p) => ({ value: 2 * p.n, tol: 0, exact: true, why: 'sum of n twos' }),
  },
  'sum-xxt': WORKLOADS['sum-xxt'],
  'std-mean': WORKLOADS['std-mean'],
  matmul: WORKLOADS.matmul,
  'sum-aat': WORKLOADS['sum-aat'],
  'sum-aat-4000': WORKLOADS['sum-aat-4000'],
  // All-to-all rechunks (every output block takes a piece of every input block), then a sum.
  rechunk: {
    title: 'sum(x.rechunk((100, n))), x uniform n×n float64 in (n, 100) chunks',
    full: { n: 4000, c: 100 },
    quick: { n: 1000, c: 100 },
    expect: (p) => ({ value: (p.n * p.n) / 2, tol: 6 * Math.sqrt((p.n * p.n) / 12), why: 'sum of n² uniforms ~ (n²/2, n²/12)' }),
  },
  'rechunk-3d': {
    title: 'sum(x.rechunk((c, n, n))), x uniform n³ float64 in (n, n, c) chunks',
    full: { n: 512, c: 32 },
    quick: { n: 128, c: 16 },
    expect: (p) => ({ value: p.n ** 3 / 2, tol: 6 * Math.sqrt(p.n ** 3 / 12), why: 'sum of n³ uniforms ~ (n³/2, n³/12)' }),
  },
  take: WORKLOADS.take,
  int64: WORKLOADS.int64,
  'sin-cos': WORKLOADS['sin-cos'],
};

export const CLUSTER_NAMES = Object.keys(CLUSTER_WORKLOADS);

export function clusterParamsOf(name, quick) {
  const w = CLUSTER_WORKLOADS[name];
  if (!w) throw new Error(`unknown cluster workload ${name}; known: ${CLUSTER_NAMES.join(', ')}`);
  return quick ? w.quick : w.full;
}

export function paramsOf(name, quick) {
  const w = WORKLOADS[name];
  if (!w) throw new Error(`unknown workload ${name}; known: ${NAMES.join(', ')}`);
  return quick ? w.quick : w.full;
}

/** { ok, detail } for one engine's result (`table`: WORKLOADS, or CLUSTER_WORKLOADS). */
export function checkResult(name, params, result, table = WORKLOADS) {
  const e = table[name].expect(params);
  if (typeof result !== 'number' || !Number.isFinite(result)) return { ok: false, detail: `result ${result} is not a finite number` };
  const err = Math.abs(result - e.value);
  const ok = e.exact ? result === e.value : err <= e.tol;
  const rel = e.value !== 0 ? err / Math.abs(e.value) : err;
  return {
    ok,
    detail: e.exact
      ? `${result} ${ok ? '==' : '!='} ${e.value} (${e.why})`
      : `${result.toPrecision(10)} vs expected ${e.value.toPrecision(10)} ± ${e.tol.toPrecision(3)} (rel. err ${rel.toExponential(2)}; ${e.why})`,
  };
}

export { MiB };
