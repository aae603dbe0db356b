// A folder served over HTTP on a loopback port, as a static file server serves a Zarr store.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface Served {
  url: string;
  /** The paths asked for so far. */
  requests(): string[];
  close(): Promise<void>;
}

export async function serveFolder(root: string): Promise<Served> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    asked.push(path);
    if (path.includes('..')) {
      res.writeHead(400).end();
      return;
    }
    readFile(join(root, path)).then(
      (body) => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => [...asked],
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
