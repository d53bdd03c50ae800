#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command } from 'commander';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The `nines` command. Commands arrive with the monitor (serve, check, report, backup). */
export function buildProgram(): Command {
  return new Command('nines')
    .description('Keep Node.js services at 99.9 % and prove it with numbers.')
    .version(version, '-v, --version')
    .showHelpAfterError();
}

buildProgram().parse();
