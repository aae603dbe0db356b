/** Where a progress bar draws: process.stderr, or anything with write (tests). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Minimum milliseconds between redraws (default 100: at most ~10 per second). */
  interval?: number;
  width?: number;
  now?: () => number;
}

/**
 * A terminal progress bar driven by engine events: tasks done / total, percent, elapsed time.
 * On a TTY it redraws in place, at most every `interval` ms (a trailing redraw catches the last
 * update); elsewhere (logs, CI) it only prints the final line.
 */
export class ProgressBar {
  private done = 0;
  private lastDraw = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly start: number;
  private readonly stream: ProgressStream;
  private readonly interval: number;
  private readonly width: number;
  private readonly now: () => number;

  constructor(
    private total: number,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.interval = opts.interval ?? 100;
    this.width = opts.width ?? 30;
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  update(done: number, total?: number): void {
    if (this.finished) return;
    this.done = Math.max(this.done, done);
    if (total !== undefined && total > 0) this.total = total;
    if (!this.stream.isTTY) return;
    const wait = this.lastDraw + this.interval - this.now();
    if (wait <= 0) this.draw();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.finished) this.draw();
      }, wait);
      this.timer.unref();
    }
  }

  /** Print the final line (with a newline) and stop redrawing. */
  finish(state: 'finished' | 'erred' | 'cancelled' = 'finished'): void {
    if (this.finished) return;
    if (this.timer) clearTimeout(this.timer);
    if (state === 'finished') this.done = this.total;
    this.finished = true;
    this.stream.write(`${this.stream.isTTY ? '\r\x1b[2K' : ''}${this.line()}${state === 'finished' ? '' : ` ${state}`}\n`);
  }

  line(): string {
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(frac * this.width);
    const secs = ((this.now() - this.start) / 1000).toFixed(1);
    return `[${'#'.repeat(filled)}${' '.repeat(this.width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}% | ${this.done}/${this.total} tasks | ${secs}s`;
  }

  private draw(): void {
    this.lastDraw = this.now();
    this.stream.write(`\r\x1b[2K${this.line()}`);
  }
}
