import { Command, Option } from 'commander';
import { z } from 'zod';
import { InvalidArgumentError, LOG_LEVELS, LogLevel, RedisUrl, redactRedisUrl } from '@tessera/protocol';

/**
 * One table per command says every flag once: its name, its environment variable, its help and
 * its zod schema. Commander only collects text (from argv, else from the environment); the
 * command's schema turns that text into one typed config object, and a bad value is an error
 * naming the flag and its variable.
 */
export interface Flag<S extends z.ZodTypeAny = z.ZodTypeAny> {
  /** Commander syntax: `--port <n>`, `--kernels <modules...>`, `--json`. */
  flags: string;
  env: string;
  help: string;
  /** Parses the text (or true for a switch, or a list for a variadic flag; undefined when not given). */
  schema: S;
  /** Shown in --help as the default. */
  shown?: string;
}

/** The first issue of a failed parse, naming the flag: `--port <n> (env TESSERA_PORT): ...`. */
export class ConfigError extends InvalidArgumentError {}

export type Flags = Record<string, Flag>;
/** The typed config of a flag table: each key, the output type of its schema. */
export type ConfigOf<F extends Flags> = { [K in keyof F]: z.output<F[K]['schema']> };

export function addFlags(cmd: Command, flags: Flags): Command {
  for (const f of Object.values(flags)) {
    cmd.addOption(new Option(f.flags, f.shown === undefined ? f.help : `${f.help} (default: ${f.shown})`).env(f.env));
  }
  return cmd;
}

/** Raw commander values → the typed config, or a ConfigError naming the flag. */
export function parseFlags<F extends Flags>(command: string, flags: F, raw: Record<string, unknown>): ConfigOf<F> {
  const shape: Record<string, z.ZodTypeAny> = {};
  const values: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(flags)) {
    shape[key] = f.schema;
    const v = raw[camel(f.flags)];
    // An empty variable (`TESSERA_TOKEN=` in a compose file) means "not set".
    values[key] = v === '' ? undefined : v;
  }
  const r = z.object(shape).strict().safeParse(values);
  if (r.success) return r.data as ConfigOf<F>;
  const issue = r.error.issues[0]!;
  const key = String(issue.path[0]);
  const f = flags[key];
  const given = f ? values[key] : undefined;
  const where = f ? `${f.flags} (env ${f.env})` : issue.path.join('.');
  // What was given, unless it is a secret, holds one (a Redis URL's password) or the message says it already.
  const env = f?.env ?? '';
  const shown = typeof given === 'string' && env === 'TESSERA_REDIS' ? JSON.stringify(redactRedisUrl(given)) : JSON.stringify(given);
  const got = given === undefined || /TOKEN|PASSWORD|SECRET/.test(env) || issue.message.includes(shown) ? '' : `, got ${shown}`;
  throw new ConfigError(`${command}: invalid ${where}: ${issue.message}${got}`);
}

/** Commander's attribute name of a flag: `--worker-timeout-ms <n>` → workerTimeoutMs. */
function camel(flags: string): string {
  const long = /--([a-z0-9-]+)/.exec(flags)![1]!;
  return long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// Schemas of text values.

const intText = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v).trim();
  if (!/^-?\d+$/.test(s)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected an integer' });
    return z.NEVER;
  }
  return Number(s);
});

export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return intText.pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`)).optional();
}

/** Bytes: an integer, or with a unit (`512MiB`, `2GB`, `1.5GiB`). */
export function bytes(min = 1) {
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$/i.exec(String(v));
      if (!m) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a number of bytes (e.g. 1048576, 512MiB, 2GB)' });
        return z.NEVER;
      }
      const unit = (m[2] ?? 'b').toLowerCase();
      const mult: Record<string, number> = {
        b: 1,
        kb: 1e3,
        mb: 1e6,
        gb: 1e9,
        tb: 1e12,
        kib: 2 ** 10,
        mib: 2 ** 20,
        gib: 2 ** 30,
        tib: 2 ** 40,
      };
      return Math.floor(Number(m[1]) * mult[unit]!);
    })
    .pipe(z.number().int().min(min, `must be at least ${min} bytes`).max(Number.MAX_SAFE_INTEGER))
    .optional();
}

export const text = (max = 4096) => z.string().min(1).max(max).optional();

export const url = (protocols: string[], example: string) =>
  z
    .string()
    .refine(
      (s) => URL.canParse(s) && protocols.includes(new URL(s).protocol),
      `must be a ${protocols.map((p) => p.slice(0, -1)).join(' or ')} URL (e.g. ${example})`,
    )
    .optional();

/** on/off switches that also come from variables: true false 1 0 yes no on off. */
export const bool = () =>
  z
    .union([z.boolean(), z.string()])
    .transform((v, ctx) => {
      if (typeof v === 'boolean') return v;
      const s = v.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(s)) return true;
      if (['false', '0', 'no', 'off'].includes(s)) return false;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected true or false' });
      return z.NEVER;
    })
    .optional();

/** A list from repeated values or one comma-separated variable. */
export const list = () =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .optional();

export const token = () =>
  z
    .string()
    .min(16, 'must be at least 16 characters (e.g. openssl rand -hex 32)')
    .max(4096)
    .regex(/^\S+$/, 'must not contain spaces')
    .optional();

export const logLevel = () => LogLevel.optional();

/** Flags several commands share. */
export const common = {
  redis: () => ({
    flags: '--redis <url>',
    env: 'TESSERA_REDIS',
    help: 'Redis URL: redis://[:pass@]host:6379, rediss:// for TLS, redis+cluster://host:port,host:port for a Redis Cluster, redis+sentinel://host:port,host:port/<master> for Sentinel',
    schema: RedisUrl.optional(),
    shown: 'redis://127.0.0.1:6379',
  }),
  scheduler: () => ({
    flags: '--scheduler <url>',
    env: 'TESSERA_SCHEDULER',
    help: 'scheduler URL',
    schema: url(['http:', 'https:'], 'http://127.0.0.1:8786'),
    shown: 'http://127.0.0.1:8786',
  }),
  token: () => ({
    flags: '--token <token>',
    env: 'TESSERA_TOKEN',
    help: 'cluster token: every API, event stream and peer chunk request needs it (prefer the variable: flags show in ps)',
    schema: token(),
  }),
  logLevel: () => ({
    flags: '--log-level <level>',
    env: 'TESSERA_LOG_LEVEL',
    help: `log level of the JSON log on stderr (${LOG_LEVELS.join(', ')})`,
    schema: logLevel(),
    shown: 'info',
  }),
  connectTimeoutMs: () => ({
    flags: '--connect-timeout-ms <n>',
    env: 'TESSERA_CONNECT_TIMEOUT_MS',
    help: 'how long to wait for the scheduler to answer',
    schema: int(1),
    shown: '10000',
  }),
};

/** Drop keys whose value is undefined (the library's own defaults apply to those). */
export function compact<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
