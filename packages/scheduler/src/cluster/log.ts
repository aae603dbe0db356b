import { pino, type Logger } from 'pino';

/** What the cluster scheduler's parts log through: the process's pino logger (JSON on stderr). */
export type ClusterLog = Pick<Logger, 'info' | 'warn' | 'error'>;

/** For parts made without a logger (tests, embedding): the same JSON lines, on stderr. */
export const defaultClusterLog: ClusterLog = pino({ name: 'tessera-scheduler' }, pino.destination(2));
