// The array workloads' expressions, one definition for the local bench (workload.mjs) and the
// cluster bench (cluster.mjs), so both engines always run the same thing. `ta` is @tessera/client.

/** Builders of the array workloads, each fresh per run: (params) => a 0-d ChunkedArray. */
export function arrayExpressions(ta) {
  const xxt = (p) => {
    const x = ta.random.uniform([p.n, p.n], { chunks: [p.c, p.c], seed: 42 });
    return x.add(x.T).sum();
  };
  const aat = (p) => {
    const a = ta.random.uniform([p.n, p.n], { chunks: [p.c, p.c], seed: 1 });
    return ta.matmul(a, a.T).sum();
  };
  return {
    'sum-xxt': xxt,
    'std-mean': (p) =>
      ta.random
        .uniform([p.n, p.n], { chunks: [p.c, p.c], seed: 42 })
        .mean({ axis: 0 })
        .std(),
    matmul: (p) => {
      const a = ta.random.uniform([p.n, p.n], { chunks: [p.c, p.c], seed: 1 });
      const b = ta.random.uniform([p.n, p.n], { chunks: [p.c, p.c], seed: 2 });
      return ta.matmul(a, b).sum();
    },
    'sum-aat': aat,
    'sum-aat-4000': aat,
    'matmul-1chunk': aat,
    rechunk: (p) => ta.random.uniform([p.n, p.n], { chunks: [p.n, p.c], seed: 1 }).rechunk([p.c, p.n]).sum(),
    'rechunk-3d': (p) => ta.random.uniform([p.n, p.n, p.n], { chunks: [p.n, p.n, p.c], seed: 1 }).rechunk([p.c, p.n, p.n]).sum(),
    // The same scattered index list on both sides (bench/dask_expressions.py).
    take: (p) => {
      const x = ta.arange(0, p.n, { chunks: p.c, dtype: 'float64' });
      const idx = Array.from({ length: p.m }, (_, i) => (i * 7919) % p.n);
      return x.take(idx).sum();
    },
    // numpy's default integers: arange is int64, the arithmetic and the sum int64 and exact.
    int64: (p) => {
      const x = ta.arange(0, p.n, { chunks: p.c });
      return x.mul(x).mod(7919).add(x.floorDivide(3)).sum();
    },
    'sort-rows': (p) => ta.sort(ta.random.uniform([p.n, p.m], { chunks: [p.c, p.c], seed: 1 }), { axis: 1 }).mul(ta.arange(0, p.m)).sum(),
    topk: (p) => ta.topk(ta.random.uniform([p.n], { chunks: [p.c], seed: 1 }), p.m).sum(),
    qr: (p) => {
      const [q] = ta.linalg.qr(ta.random.uniform([p.n, p.m], { chunks: [p.c, p.m], seed: 1 }));
      return q.mul(q).sum();
    },
    cholesky: (p) => {
      const x = ta.random.uniform([p.n, p.n], { chunks: [p.c, p.c], seed: 1 });
      const l = ta.linalg.cholesky(ta.eye(p.n, p.n, { chunks: [p.c, p.c] }).mul(p.n).add(x.add(x.T).div(2)));
      return l.mul(l).sum();
    },
    'svd-compressed': (p) => ta.linalg.svdCompressed(ta.random.uniform([p.n, p.m], { chunks: [p.c, p.m], seed: 1 }), 10, { seed: 2 })[1].max(),
    fft2: (p) => ta.abs(ta.fft.fft2(ta.random.uniform([p.n, p.n], { chunks: [p.c, p.n], seed: 1 }))).pow(2).sum(),
    'map-overlap': (p) => {
      const l = ta.mapOverlap('laplace7', ta.random.uniform([p.n, p.n, p.n], { chunks: [p.c, p.c, p.c], seed: 1 }), { depth: 1, boundary: 'periodic' });
      return l.mul(l).sum();
    },
    histogram: (p) => ta.histogram(ta.random.uniform([p.n], { chunks: [p.c], seed: 1 }), { bins: 100, range: [0, 1] })[0].sum(),
    'sin-cos': (p) => {
      const y = ta.random.uniform([p.n], { chunks: [p.c], seed: 1 });
      return ta.sum(ta.sin(y).pow(2).add(ta.cos(y).pow(2)));
    },
  };
}
