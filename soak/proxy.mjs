// A TCP proxy in front of a worker's peer port that can stop forwarding: a peer that stalls in the
// middle of a transfer (connections stay open, no byte moves) until `resume()`.
import net from 'node:net';

export class StallProxy {
  constructor() {
    this.stalled = false;
    this.sockets = new Set();
    this.stalls = 0;
  }

  listen(host, port, toHost, toPort) {
    this.server = net.createServer((client) => this.accept(client, toHost, toPort));
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, resolve);
    });
  }

  accept(client, toHost, toPort) {
    const upstream = net.connect(toPort, toHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      if (this.stalled) s.pause();
    }
    const forward = (from, to) => {
      from.on('data', (d) => {
        if (!to.write(d)) from.pause();
      });
      to.on('drain', () => {
        if (!this.stalled) from.resume();
      });
      from.on('close', () => to.destroy());
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  /** Stop moving bytes on every connection, open or new. */
  stall() {
    this.stalled = true;
    this.stalls++;
    for (const s of this.sockets) s.pause();
  }

  resume() {
    this.stalled = false;
    for (const s of this.sockets) s.resume();
  }

  close() {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
