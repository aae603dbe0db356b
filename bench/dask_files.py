#!/usr/bin/env python3
"""The Dask side of bench/files.mjs: da.from_zarr(src).mean(0).to_zarr(dst), or for an HDF5 file
da.from_array(h5py dataset, chunks=blocks).mean(0).compute() saved to dst, on a LocalCluster of
2 worker processes x 1 thread, the peer of Tessera's scheduler + 2 workers x 1 thread.

    /usr/bin/python3 bench/dask_files.py --params '{"format": "zarr"|"hdf5", "src": ..., "dst": ..., "axis": 0, "blocks": [...]}' [--repeats N]

Prints one JSON line: {engine, seconds (best timed run), runs, warmup, startupSeconds, workerMaxRssMiB, versions}.
"""
import json
import logging
import resource
import sys
import time


def main():
    args = sys.argv[1:]
    p = json.loads(args[args.index('--params') + 1])
    repeats = int(args[args.index('--repeats') + 1]) if '--repeats' in args else None

    import dask
    import dask.array as da
    import distributed
    import numpy as np
    import zarr
    from distributed import Client, LocalCluster

    for logger in ('distributed', 'tornado'):
        logging.getLogger(logger).setLevel(logging.CRITICAL)

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    startup = time.perf_counter() - t0
    try:
        def run():
            t0 = time.perf_counter()
            if p.get('format') == 'hdf5':
                # What a user writes: h5py's dataset (distributed sends it by file name and path).
                import h5py
                x = da.from_array(h5py.File(p['src'], 'r')['x'], chunks=tuple(p['blocks']))
                x.mean(axis=p['axis']).compute().astype('<f8').tofile(p['dst'])
            else:
                # What a user writes: the store's chunks, the result written by the workers.
                da.from_zarr(p['src']).mean(axis=p['axis']).to_zarr(p['dst'], overwrite=True)
            return time.perf_counter() - t0

        warmup = run()
        n = repeats if repeats is not None else (3 if warmup <= 60 else 1)
        times = [run() for _ in range(n)]
        workers_rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    finally:
        client.close()
        cluster.close()
    print(json.dumps({
        'engine': 'dask',
        'seconds': min(times),
        'runs': times,
        'warmup': warmup,
        'startupSeconds': startup,
        'workerMaxRssMiB': max(workers_rss.values()),
        'versions': {'dask': dask.__version__, 'distributed': distributed.__version__, 'zarr': zarr.__version__, 'numpy': np.__version__},
    }))


if __name__ == '__main__':
    main()
