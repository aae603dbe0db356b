#!/usr/bin/env python3
"""One benchmark workload on Dask's threaded scheduler, in a fresh process.

    python3 bench/dask_workload.py <name> --params '{"n": 8000, "c": 1000}' [--repeats N]

Prints one JSON line: {name, engine, seconds, runs, warmup, tasks, result, maxRssMiB, ...}.
`seconds` is the best of N timed runs after one warm-up run (N = 3, or 1 when the warm-up took
longer than 30 s). A run times the whole user-visible call: building the expression and
`compute()` (which includes Dask's graph optimisation), like the Tessera side.
Peak RSS is `ru_maxrss` of this process (all its threads), in MiB.

Sizes come only from bench/workloads.mjs (bench/run.mjs passes them as --params), so the two
engines can never run different sizes.
"""
import json
import os
import platform
import resource
import sys
import time


def max_rss_mib():
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1 << 20) if sys.platform == 'darwin' else r / 1024


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith('-'):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    name = args[0]
    quick = '--quick' in args  # a label in the output; the sizes themselves come with --params
    repeats = None
    if '--repeats' in args:
        repeats = int(args[args.index('--repeats') + 1])

    import dask
    import dask.array as da
    from dask_expressions import array_expression
    import numpy as np

    dask.config.set(scheduler='threads')
    if '--params' not in args:
        print(json.dumps({'name': name, 'engine': 'dask', 'error': 'missing --params (sizes come from bench/workloads.mjs)'}))
        sys.exit(2)
    p = json.loads(args[args.index('--params') + 1])
    # The workloads are the ones dask_expressions.py builds (so a new one cannot be missed here).
    if name != 'tiny-tasks' and array_expression(name, p) is None:
        print(json.dumps({'name': name, 'engine': 'dask', 'error': f'unknown workload {name}: dask_expressions.py does not build it'}))
        sys.exit(2)

    def build():
        if name == 'tiny-tasks':
            return (da.ones(p['n'], chunks=1) + 1).sum()
        x = array_expression(name, p)
        if x is not None:
            return x
        raise AssertionError(name)

    # Tasks in the graph Dask executes: after dask.optimize (cull, blockwise and low-level fusion).
    (optimized,) = dask.optimize(build())
    tasks = len(optimized.__dask_graph__())

    baseline = max_rss_mib()

    def run():
        t0 = time.perf_counter()
        value = build().compute()
        return time.perf_counter() - t0, float(value)

    warmup, result = run()
    n = repeats if repeats is not None else (3 if warmup <= 30 else 1)
    times = []
    for _ in range(n):
        dt, result = run()
        times.append(dt)
    best = min(times) if times else warmup

    out = {
        'name': name,
        'engine': 'dask',
        'quick': quick,
        'params': p,
        'seconds': best,
        'runs': times,
        'warmup': warmup,
        'tasks': tasks,
        'result': result,
        'maxRssMiB': max_rss_mib(),
        'baselineRssMiB': baseline,
        'threads': dask.system.CPU_COUNT,
        'versions': {'dask': dask.__version__, 'numpy': np.__version__, 'python': platform.python_version()},
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
