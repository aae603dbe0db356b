#!/usr/bin/env node
// A launcher kept in git (npm links it at install time, before anything is built): it runs the
// compiled CLI, or says how to build it.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  console.error('tessera: the CLI is not built yet; run `npm run build` at the repository root first');
  process.exit(1);
}
await import(built.href);
