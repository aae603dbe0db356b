import { InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { EXIT_CODES, exitCodeOf, type ShutdownOutcome } from '@tessera/protocol';

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

/**
 * Stop on SIGTERM/SIGINT: `close` runs once, then the process exits with EXIT_CODES (protocol's
 * shutdown.ts): 0 clean, 75 when `close` says something was left undone (Redis unreachable), 1
 * when it failed or had not returned after `deadlineMs`.
 */
export function onSignals(name: string, close: () => Promise<ShutdownOutcome | void>, deadlineMs?: number): void {
  let closing = false;
  const stop = (signal: string): void => {
    // A second signal changes nothing: `npx` forwards the terminal's Ctrl-C that the process got too.
    if (closing) return;
    closing = true;
    console.error(`tessera ${name}: ${signal}, shutting down`);
    // The last word on a close step that waits on something it should not: exit anyway. (Not
    // unref'd: with nothing else alive, Node would otherwise exit 0 under a close that never returns.)
    if (deadlineMs !== undefined) {
      setTimeout(() => {
        console.error(`tessera ${name}: shutdown failed: not done after ${deadlineMs} ms; exiting`);
        process.exit(EXIT_CODES.failed);
      }, deadlineMs);
    }
    close().then(
      (outcome) => process.exit(exitCodeOf(outcome)),
      (e: unknown) => {
        console.error(`tessera ${name}: shutdown failed: ${String(e)}`);
        process.exit(EXIT_CODES.failed);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
