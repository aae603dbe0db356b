// `tessera dashboard` as a user types it: its flags and environment variables, and bad values
// that exit non-zero naming themselves.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });

describe('tessera dashboard', () => {
  it('is listed, and --help gives each flag with its environment variable', () => {
    expect(run(['--help']).stdout).toMatch(/dashboard \[options\]/);
    const help = run(['dashboard', '--help']).stdout;
    expect(help).toMatch(/--scheduler <url>[^-]*env:\s+TESSERA_SCHEDULER/);
    expect(help).toMatch(/--port <n>[^-]*env:\s+TESSERA_DASHBOARD_PORT/);
    expect(help).toMatch(/--host <address>[^-]*env:\s+TESSERA_DASHBOARD_HOST/);
    expect(help).toMatch(/--tick-ms <n>[^-]*env:\s+TESSERA_DASHBOARD_TICK_MS/);
  });

  it('a bad flag or environment value exits non-zero naming it', () => {
    const notInt = run(['dashboard', '--port', 'eighty']);
    expect(notInt.status).not.toBe(0);
    expect(notInt.stderr).toMatch(/--port <n>.*"eighty"/);
    const range = run(['dashboard', '--port', '70000']);
    expect(range.status).toBe(1);
    expect(range.stderr).toMatch(/dashboard option port: .*65535/);
    const url = run(['dashboard'], { TESSERA_SCHEDULER: 'redis://127.0.0.1:6379' });
    expect(url.status).toBe(1);
    expect(url.stderr).toMatch(/dashboard option scheduler: must be an http:\/\/ or https:\/\/ URL/);
    const tick = run(['dashboard', '--scheduler', 'http://127.0.0.1:9'], { TESSERA_DASHBOARD_TICK_MS: '1' });
    expect(tick.status).toBe(1);
    expect(tick.stderr).toMatch(/dashboard option tickMs: .*50/);
    const unknown = run(['dashboard', '--no-such-flag']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown option '--no-such-flag'/);
  });
});
