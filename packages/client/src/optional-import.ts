import { TesseraError } from '@tessera/protocol';

/**
 * A function exported by an optional peer package (the embedded engine's @tessera/local, the
 * dashboard's @tessera/dashboard), which the client must not depend on: imported through a
 * variable, so no bundler or type check pins it, and only when asked. `missing` says what to do
 * when the package is not installed.
 */
export async function importOptional(spec: string, name: string, missing: string): Promise<(...args: never[]) => unknown> {
  let mod: unknown;
  try {
    mod = await import(spec);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new TesseraError('INTERNAL', missing, { cause: e });
    throw e;
  }
  const fn = (mod as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new TesseraError('INTERNAL', `${spec} does not export a ${name} function`);
  return fn as (...args: never[]) => unknown;
}
