export { buildServer, DEFAULT_BODY_LIMIT, DEFAULT_HEARTBEAT_MS, type ServerOptions } from './build-server.js';
export { statusOfCode } from './error-reply.js';
