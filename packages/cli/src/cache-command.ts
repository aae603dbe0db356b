import { Command } from 'commander';
import { clearCache, listCache } from '@tessera/worker';
import { ConfigError, addFlags, bool, parseFlags, text } from './flags.js';
import { fmtBytes, table } from './status-command.js';

const cacheFlags = {
  dir: { flags: '--dir <path>', env: 'TESSERA_CACHE_DIR', help: 'the result cache folder (a worker\'s --cache-dir, Client.connect({ cache }))', schema: text(4096) },
  json: { flags: '--json', env: 'TESSERA_JSON', help: 'print JSON instead of a table', schema: bool() },
};

function folder(command: string, raw: Record<string, unknown>): { dir: string; json: boolean } {
  const c = parseFlags(command, cacheFlags, raw);
  if (c.dir === undefined) throw new ConfigError(`${command}: give the cache folder with --dir <path> (or TESSERA_CACHE_DIR)`);
  return { dir: c.dir, json: c.json === true };
}

/** `tessera cache ls|clear`: what a result cache folder holds, and emptying it. */
export function cacheCommand(): Command {
  const cmd = new Command('cache').description('list or clear a result cache folder');
  cmd.addCommand(
    addFlags(new Command('ls').description('list the entries, most recently used first'), cacheFlags).action(async (raw: Record<string, unknown>) => {
      const { dir, json } = folder('cache ls', raw);
      const entries = await listCache(dir);
      if (json) return console.log(JSON.stringify(entries, null, 2));
      const total = entries.reduce((s, e) => s + e.bytes, 0);
      console.log(`${dir}: ${entries.length} entries, ${fmtBytes(total)}\n`);
      console.log(
        table(
          ['KEY', 'OP', 'DTYPE', 'SHAPE', 'SIZE', 'LAST USED'],
          entries.map((e) => [e.key, e.op, e.dtype, `(${e.shape.join(', ')})`, fmtBytes(e.bytes), e.lastUsed.toISOString()]),
        ),
      );
    }),
  );
  cmd.addCommand(
    addFlags(new Command('clear').description('delete every entry'), cacheFlags).action(async (raw: Record<string, unknown>) => {
      const { dir, json } = folder('cache clear', raw);
      const n = await clearCache(dir);
      console.log(json ? JSON.stringify({ dir, deleted: n }) : `${dir}: deleted ${n} entries`);
    }),
  );
  return cmd;
}
