import { InvalidArgumentError } from '@tessera/protocol';

const EXAMPLE = 'http://127.0.0.1:8786';

/**
 * A scheduler address as the base URL requests are built on: `http(s)://host[:port][/prefix]`,
 * without a trailing slash. A path prefix is kept (a scheduler behind a reverse proxy).
 */
export function parseSchedulerAddress(address: unknown): string {
  const bad = (why: string) =>
    new InvalidArgumentError(`scheduler address ${JSON.stringify(address)} ${why}; give an http(s) URL such as ${EXAMPLE}`);
  if (typeof address !== 'string' || address.trim() === '') throw bad('is not a non-empty string');
  let url: URL;
  try {
    url = new URL(address.trim());
  } catch {
    throw bad('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`has the scheme ${url.protocol.replace(/:$/, '')}`);
  // fetch refuses URLs with credentials, and a query or fragment would end up in every route.
  if (url.username || url.password) throw bad('holds credentials');
  if (url.search || url.hash) throw bad('has a query or fragment');
  return url.origin + url.pathname.replace(/\/+$/, '');
}
