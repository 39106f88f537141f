/** Every CLI command, in the order `gradflow --help` lists them. */
import type { Command } from './common.ts';
import { listCommand } from './commands/list.ts';
import { deriveCommand } from './commands/derive.ts';
import { descentCommand, exactCommand, flowCommand } from './commands/trajectory-commands.ts';
import { demoCommand } from './commands/demo.ts';
import { agfCommand, pfCommand } from './commands/schedule-commands.ts';
import { compareCommand } from './commands/compare-commands.ts';
import { mergeCommand, sweepCommand } from './commands/sweep.ts';
import { compareLinearCommand } from './commands/compare-linear.ts';
import { lawsCommand } from './commands/laws.ts';
import { utilityCommand } from './commands/modular.ts';
import { forcesCommand } from './commands/forces.ts';
import { truncationCommand } from './commands/truncation.ts';

export const COMMANDS: Command[] = [listCommand, deriveCommand, flowCommand, descentCommand, exactCommand, demoCommand, compareLinearCommand];
COMMANDS.push(agfCommand, pfCommand);
COMMANDS.push(compareCommand, sweepCommand, mergeCommand);
COMMANDS.push(lawsCommand);
COMMANDS.push(utilityCommand);
COMMANDS.push(forcesCommand);
COMMANDS.push(truncationCommand);
