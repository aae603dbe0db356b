import { Command } from 'commander';
import { startDashboard } from '@tessera/dashboard';
import { defined, intFlag, onSignals, textFlag } from './options.js';

export function dashboardCommand(): Command {
  return new Command('dashboard')
    .description("serve the live dashboard: reads the scheduler's API and event feed, pushes to browsers")
    .addOption(textFlag('--scheduler <url>', 'scheduler URL', 'TESSERA_SCHEDULER').default('http://127.0.0.1:8786'))
    .addOption(textFlag('--host <address>', 'address to listen on (default 127.0.0.1)', 'TESSERA_DASHBOARD_HOST'))
    .addOption(intFlag('--port <n>', 'port to listen on (default 8787)', 'TESSERA_DASHBOARD_PORT'))
    .addOption(intFlag('--tick-ms <n>', 'one message per browser at most this often (default 250)', 'TESSERA_DASHBOARD_TICK_MS'))
    .addOption(intFlag('--max-bars <n>', 'task-stream bars per message at most (default 400)', 'TESSERA_DASHBOARD_MAX_BARS'))
    .addOption(textFlag('--token <token>', "the scheduler's API token, if it requires one", 'TESSERA_TOKEN'))
    .addOption(
      intFlag(
        '--dag-max-tasks <n>',
        'graphs up to this many tasks are drawn task by task (default 5000)',
        'TESSERA_DASHBOARD_DAG_MAX_TASKS',
      ),
    )
    .action(async (o: Record<string, string | number | undefined>) => {
      const d = await startDashboard(
        defined({
          scheduler: o.scheduler as string,
          host: o.host as string | undefined,
          port: o.port as number | undefined,
          tickMs: o.tickMs as number | undefined,
          maxBarsPerTick: o.maxBars as number | undefined,
          dagMaxTasks: o.dagMaxTasks as number | undefined,
          // An empty variable (TESSERA_TOKEN= in a compose file) means no token.
          token: (o.token as string | undefined) || undefined,
        }) as { scheduler: string },
      );
      onSignals('dashboard', () => d.close());
      console.log(`tessera dashboard listening on ${d.url} (scheduler ${o.scheduler as string})`);
    });
}
