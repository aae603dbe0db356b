import { Command } from 'commander';
import { cacheCommand } from './cache-command.js';
import { schedulerCommand, workerCommand } from './commands.js';
import { dashboardCommand } from './dashboard-command.js';
import { localCommand } from './local-command.js';
import { statusCommand } from './status-command.js';
import { submitCommand } from './submit-command.js';

export function program(): Command {
  return new Command('tessera')
    .description('Tessera: a distributed task-graph scheduler for chunked arrays')
    .version('0.1.0')
    .showHelpAfterError()
    .addCommand(schedulerCommand())
    .addCommand(workerCommand())
    .addCommand(dashboardCommand())
    .addCommand(localCommand())
    .addCommand(submitCommand())
    .addCommand(statusCommand())
    .addCommand(cacheCommand());
}
