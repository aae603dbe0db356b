#!/usr/bin/env node
import { program } from './program.js';

program()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    // A bad option or a failed start: one line naming it, and a non-zero exit.
    console.error(`tessera: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
