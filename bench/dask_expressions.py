"""The array workloads' Dask expressions, one definition for dask_workload.py (threaded) and
dask_cluster.py (distributed), so both runs compute the same thing as bench/expressions.mjs."""

import dask.array as da


def array_expression(name, p):
    """The 0-d dask array of workload `name` with sizes `p`, or None when it is not an array workload."""
    if name in ('sum-xxt', 'std-mean'):
        x = da.random.RandomState(42).uniform(0, 1, size=(p['n'], p['n']), chunks=(p['c'], p['c']))
        return (x + x.T).sum() if name == 'sum-xxt' else x.mean(axis=0).std()
    if name == 'matmul':
        shape, chunks = (p['n'], p['n']), (p['c'], p['c'])
        a = da.random.RandomState(1).uniform(0, 1, size=shape, chunks=chunks)
        b = da.random.RandomState(2).uniform(0, 1, size=shape, chunks=chunks)
        return da.matmul(a, b).sum()
    if name in ('sum-aat', 'sum-aat-4000', 'matmul-1chunk'):
        a = da.random.RandomState(1).uniform(0, 1, size=(p['n'], p['n']), chunks=(p['c'], p['c']))
        return (a @ a.T).sum()
    if name == 'rechunk':
        n, c = p['n'], p['c']
        return da.random.RandomState(1).uniform(0, 1, size=(n, n), chunks=(n, c)).rechunk((c, n)).sum()
    if name == 'rechunk-3d':
        n, c = p['n'], p['c']
        return da.random.RandomState(1).uniform(0, 1, size=(n, n, n), chunks=(n, n, c)).rechunk((c, n, n)).sum()
    if name == 'take':
        import numpy as np

        x = da.arange(p['n'], chunks=p['c'], dtype='f8')
        idx = (np.arange(p['m'], dtype=np.int64) * 7919) % p['n']
        return x[idx].sum()
    if name == 'int64':
        x = da.arange(p['n'], chunks=p['c'])
        return ((x * x) % 7919 + x // 3).sum()
    if name == 'sin-cos':
        y = da.random.RandomState(1).uniform(0, 1, size=p['n'], chunks=p['c'])
        return (da.sin(y) ** 2 + da.cos(y) ** 2).sum()
    if name == 'sort-rows':
        import numpy as np

        x = da.random.RandomState(1).uniform(0, 1, size=(p['n'], p['m']), chunks=(p['c'], p['c']))
        return (x.rechunk({1: -1}).map_blocks(np.sort, axis=1) * da.arange(p['m'])).sum()
    if name == 'topk':
        y = da.random.RandomState(1).uniform(0, 1, size=p['n'], chunks=p['c'])
        return da.topk(y, p['m']).sum()
    if name == 'histogram':
        y = da.random.RandomState(1).uniform(0, 1, size=p['n'], chunks=p['c'])
        return da.histogram(y, bins=100, range=(0, 1))[0].sum()
    if name == 'qr':
        x = da.random.RandomState(1).uniform(0, 1, size=(p['n'], p['m']), chunks=(p['c'], p['m']))
        q, _ = da.linalg.qr(x)
        return (q * q).sum()
    if name == 'cholesky':
        x = da.random.RandomState(1).uniform(0, 1, size=(p['n'], p['n']), chunks=(p['c'], p['c']))
        a = da.eye(p['n'], chunks=p['c']) * p['n'] + (x + x.T) / 2
        lo = da.linalg.cholesky(a, lower=True)
        return (lo * lo).sum()
    if name == 'svd-compressed':
        x = da.random.RandomState(1).uniform(0, 1, size=(p['n'], p['m']), chunks=(p['c'], p['m']))
        _, s, _ = da.linalg.svd_compressed(x, 10, seed=2)
        return s.max()
    if name == 'fft2':
        x = da.random.RandomState(1).uniform(0, 1, size=(p['n'], p['n']), chunks=(p['c'], p['n']))
        # dask.array.fft needs every transformed axis in one chunk: the user rechunks to one block.
        return (abs(da.fft.fft2(x.rechunk((p['n'], p['n'])))) ** 2).sum()
    if name == 'map-overlap':
        x = da.random.RandomState(1).uniform(0, 1, size=(p['n'],) * 3, chunks=(p['c'],) * 3)
        lap = da.map_overlap(laplace7, x, depth=1, boundary='periodic', dtype='f8')
        return (lap * lap).sum()
    return None


def laplace7(b):
    """The 7-point Laplacian inside a block (0 on its faces, which map_overlap trims), numpy slices."""
    import numpy as np

    out = np.zeros_like(b)
    inner = (slice(1, -1),) * 3
    s = lambda ax, lo: tuple(slice(lo, b.shape[ax] - 2 + lo) if i == ax else slice(1, -1) for i in range(3))
    out[inner] = sum(b[s(ax, 0)] + b[s(ax, 2)] for ax in range(3)) - 6 * b[inner]
    return out
