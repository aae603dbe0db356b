import { InvalidArgumentError as CommanderArgumentError, Option } from 'commander';

/** An integer flag: commander hands us text; a value that is not an integer names itself. */
export function intFlag(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(env).argParser((v: string) => {
    if (!/^-?\d+$/.test(v.trim())) throw new CommanderArgumentError(`expected an integer, got ${JSON.stringify(v)}`);
    return Number(v);
  });
}

export function textFlag(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(env);
}

/** Drop options the user did not give, so the zod schema's defaults apply. */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Stop cleanly on SIGTERM/SIGINT: `close` runs once, then the process exits 0 (1 if close failed). */
export function onSignals(name: string, close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string): void => {
    if (closing) return;
    closing = true;
    console.error(`tessera ${name}: ${signal}, shutting down`);
    close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`tessera ${name}: shutdown failed: ${String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
