// The tessera command as a user types it: help, and bad flags that exit non-zero naming themselves.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('tessera CLI', () => {
  it('--help lists the commands, and each command its flags with their environment variables', () => {
    const top = run('--help');
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/scheduler \[options\]/);
    expect(top.stdout).toMatch(/worker \[options\]/);
    const worker = run('worker', '--help');
    expect(worker.stdout).toMatch(/--scheduler <url>[^-]*env:\s+TESSERA_SCHEDULER/);
    expect(worker.stdout).toMatch(/--threads <n>[^-]*env:\s+TESSERA_THREADS/);
    expect(run('scheduler', '--help').stdout).toMatch(/--port <n>[^-]*env:\s+TESSERA_PORT/);
  });

  it('a bad flag or value exits non-zero with a message naming it', () => {
    const notInt = run('worker', '--threads', 'many');
    expect(notInt.status).not.toBe(0);
    expect(notInt.stderr).toMatch(/--threads <n>.*"many"/);
    const port = run('scheduler', '--port', '70000');
    expect(port.status).toBe(1);
    expect(port.stderr).toMatch(/scheduler: invalid --port <n> \(env TESSERA_PORT\): must be at most 65535, got "70000"/);
    const url = spawnSync(process.execPath, [BIN, 'scheduler'], { encoding: 'utf8', env: { ...process.env, TESSERA_REDIS: 'http://nope' } });
    expect(url.status).toBe(1);
    expect(url.stderr).toMatch(/scheduler: invalid --redis <url> \(env TESSERA_REDIS\): Redis URL "http:\/\/nope": the scheme must be one of redis, rediss, redis\+cluster, rediss\+cluster, redis\+sentinel, rediss\+sentinel/);
    // Said once, and never a secret: a Redis URL's password is hidden, a bad token is not echoed.
    expect(url.stderr.match(/http:\/\/nope/g)).toHaveLength(1);
    const pass = run('scheduler', '--redis', 'redis+cluster://u:hunter2@h:99999');
    expect(pass.stderr).toMatch(/"redis\+cluster:\/\/u:\*\*\*@h:99999": "h:99999" is not host:port/);
    expect(pass.stderr).not.toContain('hunter2');
    const token = run('scheduler', '--token', 'short-secret');
    expect(token.stderr).toMatch(/invalid --token <token> \(env TESSERA_TOKEN\): must be at least 16 characters/);
    expect(token.stderr).not.toContain('short-secret');
    const unknown = run('worker', '--no-such-flag');
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown option '--no-such-flag'/);
  });

  it('a worker whose scheduler never answers gives up with a message naming it', () => {
    const r = spawnSync(process.execPath, [BIN, 'worker', '--scheduler', 'http://127.0.0.1:9', '--threads', '1'], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, TESSERA_DISCOVERY_TIMEOUT_MS: '1500' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/http:\/\/127\.0\.0\.1:9\/api\/cluster/);
  });
});
