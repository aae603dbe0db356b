import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';

/** Files of a test certificate authority and a server certificate it signed for 127.0.0.1. */
export interface TestTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * How test servers are reached: over TLS (`tls`, a certificate from `makeTestTls`) and with an ACL
 * user (the default user is then off, so nothing gets in without the password).
 */
export interface RedisAccess {
  tls?: TestTls;
  user?: { name: string; password: string };
}

/** A throwaway CA and a server certificate for 127.0.0.1 signed by it, made by openssl in `dir`. */
export function makeTestTls(dir: string): TestTls {
  const f = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', '-new', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=Tessera test CA');
  ssl('req', '-new', ...ec, '-keyout', f('redis.key'), '-out', f('redis.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', f('redis.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('redis.crt'), '-days', '2', '-extfile', f('san.ext'));
  return { ca: f('ca.crt'), cert: f('redis.crt'), key: f('redis.key') };
}

/** redis-server arguments to listen on `port` as `access` says (TLS only, when TLS). */
export function serverArgs(access: RedisAccess, port: number): string[] {
  const { tls, user } = access;
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca,
        '--tls-auth-clients', 'no', '--tls-replication', 'yes']
    : ['--port', String(port)];
  // One argument per ACL rule: redis-server quotes an argument with spaces as one token.
  const acl = user ? ['--user', 'default', 'off', '--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all', '--masteruser', user.name, '--masterauth', user.password] : [];
  return [...listen, ...acl];
}

/** redis-cli arguments to reach a server set up with `access`. */
export function cliArgs(access: RedisAccess): string[] {
  return [
    ...(access.tls ? ['--tls', '--cacert', access.tls.ca] : []),
    ...(access.user ? ['--user', access.user.name, '--pass', access.user.password, '--no-auth-warning'] : []),
  ];
}

/** ioredis options to reach a server set up with `access`. */
export function clientOptions(access: RedisAccess): RedisOptions {
  return {
    ...(access.tls ? { tls: { ca: readFileSync(access.tls.ca) } } : {}),
    ...(access.user ? { username: access.user.name, password: access.user.password } : {}),
  };
}

/** The user part of a Redis URL (`user:password@`, both URL-encoded), or nothing. */
export function urlAuth(access: RedisAccess): string {
  return access.user ? `${encodeURIComponent(access.user.name)}:${encodeURIComponent(access.user.password)}@` : '';
}
