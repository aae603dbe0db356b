import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { Client } from '@tessera/client';
import { ConfigError, type ConfigOf, addFlags, bool, common, parseFlags } from './flags.js';

export const submitFlags = {
  scheduler: common.scheduler(),
  token: common.token(),
  connectTimeoutMs: common.connectTimeoutMs(),
  local: {
    flags: '--local',
    env: 'TESSERA_LOCAL',
    help: 'run on the embedded local engine instead of a cluster (no scheduler needed)',
    schema: bool(),
  },
};
export type SubmitConfig = ConfigOf<typeof submitFlags>;

/** What a submitted module may default-export: called with a connected client and the extra arguments. */
export type SubmitMain = (client: Client, args: string[]) => unknown;

let tsHooks = false;

/**
 * `tessera submit <module>`: run a user's program against a cluster. The module either
 * default-exports `async (client, args) => result` (the client is connected, and closed after;
 * a result other than undefined is printed as JSON), or is a plain script that connects itself
 * with `Client.connect(process.env.TESSERA_SCHEDULER)` (the token comes from TESSERA_TOKEN).
 * TypeScript modules run as they are (types stripped on load).
 */
export function submitCommand(): Command {
  const cmd = new Command('submit')
    .description('run a TS/JS module against a cluster: its default export gets a connected Client')
    .argument('<module>', 'path of the module (.js, .mjs, .ts, .mts)')
    .argument('[args...]', 'arguments passed on to the module (after --)');
  return addFlags(cmd, submitFlags).action(async (module: string, args: string[], raw: Record<string, unknown>) => {
    const config = parseFlags('submit', submitFlags, raw);
    const path = resolvePath(module);
    if (!existsSync(path)) throw new ConfigError(`submit: no module at ${path}`);
    const scheduler = config.scheduler ?? 'http://127.0.0.1:8786';
    // The module may read these itself (a script that connects on its own).
    process.env.TESSERA_SCHEDULER = scheduler;
    if (config.token !== undefined) process.env.TESSERA_TOKEN = config.token;
    if (/\.m?ts$/.test(path) && !tsHooks) {
      // esbuild strips the types (a dependency of the CLI; an image pruned of it gets this message).
      await import('esbuild').catch(() => {
        throw new ConfigError(
          `submit: running a TypeScript module needs the esbuild package (npm install esbuild), or compile ${module} to JavaScript first`,
        );
      });
      register('./ts-loader.js', import.meta.url);
      tsHooks = true;
    }
    const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    if (typeof mod.default !== 'function') return; // a script: it ran on import
    const client = config.local
      ? await Client.connect()
      : await Client.connect({
          address: scheduler,
          ...(config.token !== undefined ? { token: config.token } : {}),
          ...(config.connectTimeoutMs !== undefined ? { connectTimeoutMs: config.connectTimeoutMs } : {}),
        });
    let result: unknown;
    try {
      result = await (mod.default as SubmitMain)(client, args);
    } finally {
      await client.close();
    }
    if (result !== undefined) console.log(JSON.stringify(result, jsonSafe, 2));
    // A job is done when its function returns: timers the module left behind do not hold us.
    process.exit(0);
  });
}

/** Typed arrays print as lists, bigints as strings. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'bigint') return value.toString();
  return value;
}
