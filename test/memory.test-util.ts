import * as ta from '@tessera/client';

/** The most bytes the local engine held while computing x, sampled at every task event. */
export async function heldPeak(client: ta.Client, x: ta.ChunkedArray): Promise<{ peak: number; value: ta.NDArray | number }> {
  const engine = client.engine as unknown as { stats(): { bytesHeld: number } };
  let most = 0;
  const value = (await client.compute(x, { onEvent: () => (most = Math.max(most, engine.stats().bytesHeld)) })) as ta.NDArray | number;
  return { peak: most, value };
}
