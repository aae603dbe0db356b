import { Command } from 'commander';
import { schedulerCommand, workerCommand } from './commands.js';

export function program(): Command {
  return new Command('tessera')
    .description('Tessera: a distributed task-graph scheduler for chunked arrays')
    .version('0.1.0')
    .showHelpAfterError()
    .addCommand(schedulerCommand())
    .addCommand(workerCommand());
}
