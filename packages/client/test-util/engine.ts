import { fileURLToPath } from 'node:url';
import type { LocalEngineStats } from '@tessera/local';
import type { ChunkedArray, NDArray } from '../src/array.js';
import { Client, type ComputeOptions } from '../src/client.js';

/** The kernel module of the client tests (scale-add, block-id, boom, slow-copy), by absolute path. */
export const TEST_KERNELS = fileURLToPath(new URL('./kernels.mjs', import.meta.url));

/** A Client on the real embedded local engine, the way users get one (Client.connect). */
export function connectLocal(): Promise<Client> {
  return Client.connect({ threads: 2, kernels: [TEST_KERNELS] });
}

/** The local engine's counters (tasks executed, chunks held) behind a connected client. */
export function engineStats(client: Client): LocalEngineStats {
  const stats = (client.engine as { stats?: unknown }).stats;
  if (typeof stats !== 'function') throw new Error('this client does not run on the local engine (no stats())');
  return (stats as () => LocalEngineStats).call(client.engine);
}

/** Compute one array and flatten the result to a list of numbers (a 0-d result gives [value]). */
export async function computeList(client: Client, a: ChunkedArray, opts?: ComputeOptions): Promise<number[]> {
  const r: NDArray | number = await client.compute(a, opts);
  return typeof r === 'number' ? [r] : Array.from(r.data, Number);
}
