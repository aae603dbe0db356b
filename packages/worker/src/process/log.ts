import type { Logger } from 'pino';

/**
 * Brief log lines for a long-running process: pino JSON lines when given a logger (the worker
 * process), plain stderr lines otherwise. A Redis outage makes every loop fail at once and
 * again on each retry, so a topic prints at most once per `everyMs`, with a count of what it held back.
 */
export class Log {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly who: string,
    private readonly everyMs = 5_000,
    private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
    private readonly logger?: Logger,
  ) {}

  warn(topic: string, message: string): void {
    const now = Date.now();
    const seen = this.last.get(topic);
    if (seen && now - seen.at < this.everyMs) {
      seen.held++;
      return;
    }
    const more = seen && seen.held > 0 ? ` (${seen.held} more since)` : '';
    this.last.set(topic, { at: now, held: 0 });
    if (this.logger) this.logger.warn({ topic, ...(seen && seen.held > 0 ? { heldBack: seen.held } : {}) }, message);
    else this.write(`tessera worker ${this.who}: ${topic}: ${message}${more}`);
  }

  /** Always printed: state changes such as "Redis is back". */
  info(message: string): void {
    if (this.logger) this.logger.info(message);
    else this.write(`tessera worker ${this.who}: ${message}`);
  }
}

/** The message, and its cause's (fetch says only "fetch failed"; the cause says ECONNREFUSED). */
export function errorMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? e.cause.message : undefined;
  return cause && cause !== e.message ? `${e.message} (${cause})` : e.message;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
