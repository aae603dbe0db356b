import { InvalidArgumentError, formatCpuList } from '@tessera/protocol';
import { nativeKernels, nativeUnavailable } from '../kernels/native.js';

/**
 * Pin this process (every thread it has now, so every thread made later too: the pool's,
 * OpenBLAS's, libuv's) to `cpus`, as `taskset -c` would. A CPU the process may not use (absent,
 * offline, outside its cgroup) is refused by name before anything is changed.
 */
export function bindProcessToCpus(cpus: readonly number[]): void {
  const native = nativeKernels();
  if (!native) throw new InvalidArgumentError(`--cpus needs the native addon, which is not there (${nativeUnavailable() ?? 'not built'})`);
  const allowed = native.getAffinity();
  const missing = cpus.filter((c) => !allowed.includes(c));
  if (missing.length > 0) {
    throw new InvalidArgumentError(`--cpus ${formatCpuList(cpus)}: CPU ${formatCpuList(missing)} is not one this process may run on (${formatCpuList(allowed)})`);
  }
  native.setAffinity(cpus);
}

/** The CPUs this process may run on now, where the native addon can tell. */
export function allowedCpus(): number[] | undefined {
  return nativeKernels()?.getAffinity();
}
