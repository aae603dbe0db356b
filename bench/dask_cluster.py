#!/usr/bin/env python3
"""One cluster-mode benchmark workload on Dask distributed, in a fresh process.

    /usr/bin/python3 bench/dask_cluster.py <name> --params '{"n": 10000}' [--repeats N] [--quick]

The peer of Tessera's scheduler + 2 workers (bench/cluster.mjs): a LocalCluster of 2 worker
processes with 1 thread each, no dashboard, and a Client, started fresh for this workload.

Prints one JSON line: {name, engine, seconds, runs, warmup, tasks, result, schedulerMaxRssMiB,
workerMaxRssMiB, ...}. `seconds` is the best of N timed runs after one warm-up run (N = 3, or 1
when the warm-up took longer than 30 s). A run times what a user waits for: building the
collection, `client.compute(...)` and `.result()` (results in this process), like the Tessera side.
The scheduler of a LocalCluster runs inside this process, so its peak RSS is this process's
(client included); the workers' is asked of them with `client.run`.

Sizes come only from bench/workloads.mjs (bench/cluster.mjs passes them as --params).
"""
import json
import logging
import platform
import resource
import sys
import time

KNOWN = ('tiny-tasks', 'chain', 'sum-xxt', 'std-mean', 'matmul', 'sum-aat', 'sum-aat-4000', 'matmul-1chunk', 'rechunk', 'rechunk-3d', 'take', 'int64', 'sin-cos')


def max_rss_mib():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fail(name, message):
    print(json.dumps({'name': name, 'engine': 'dask', 'error': message}))
    sys.exit(2)


def inc(v):
    return v + 1


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith('-'):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    name = args[0]
    quick = '--quick' in args  # a label in the output; the sizes themselves come with --params
    repeats = int(args[args.index('--repeats') + 1]) if '--repeats' in args else None
    if name not in KNOWN:
        fail(name, f'unknown cluster workload {name}; known: {", ".join(KNOWN)}')
    if '--params' not in args:
        fail(name, 'missing --params (sizes come from bench/workloads.mjs)')
    p = json.loads(args[args.index('--params') + 1])

    import dask
    import dask.array as da
    from dask_expressions import array_expression
    import distributed
    import numpy as np
    from distributed import Client, LocalCluster

    # Shutdown chatter (closing comms, heartbeats to a closed scheduler) is not a result.
    for logger in ('distributed', 'tornado'):
        logging.getLogger(logger).setLevel(logging.CRITICAL)

    def build():
        if name == 'tiny-tasks':
            # The same n independent blocks as Tessera; computing the array also runs one
            # finalize task that concatenates them on a worker before they come back.
            return da.ones(p['n'], chunks=1) + 1
        if name == 'chain':
            d = dask.delayed(0)
            for _ in range(p['n']):
                d = dask.delayed(inc, pure=True)(d)
            return d
        x = array_expression(name, p)
        if x is not None:
            return x
        raise AssertionError(name)

    # Tasks in the graph Dask executes: after dask.optimize (cull, blockwise and low-level fusion).
    (optimized,) = dask.optimize(build())
    tasks = len(optimized.__dask_graph__())

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    startup = time.perf_counter() - t0
    try:
        baseline = max_rss_mib()

        def forgotten(dask_scheduler):
            return len(dask_scheduler.tasks) == 0

        def run():
            t0 = time.perf_counter()
            future = client.compute(build())
            value = future.result()
            dt = time.perf_counter() - t0
            # Runs build the same keys: a result the scheduler still holds would make the next
            # run instant. Release it and wait (untimed) until the scheduler has forgotten all.
            future.release()
            del future
            deadline = time.monotonic() + 30
            while not client.run_on_scheduler(forgotten) and time.monotonic() < deadline:
                time.sleep(0.01)
            # One number to check, summed after the clock stopped.
            return dt, float(np.sum(value))

        warmup, result = run()
        n = repeats if repeats is not None else (3 if warmup <= 30 else 1)
        times = []
        for _ in range(n):
            dt, result = run()
            times.append(dt)
        workers_rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    finally:
        client.close()
        cluster.close()

    print(
        json.dumps(
            {
                'name': name,
                'engine': 'dask',
                'quick': quick,
                'params': p,
                'seconds': min(times) if times else warmup,
                'runs': times,
                'warmup': warmup,
                'tasks': tasks,
                'result': result,
                'startupSeconds': startup,
                'schedulerMaxRssMiB': max_rss_mib(),
                'schedulerBaselineRssMiB': baseline,
                'workerMaxRssMiB': max(workers_rss.values()),
                'versions': {
                    'dask': dask.__version__,
                    'distributed': distributed.__version__,
                    'numpy': np.__version__,
                    'python': platform.python_version(),
                },
            }
        )
    )


if __name__ == '__main__':
    main()
