/** Every CLI command, in the order `gradflow --help` lists them. */
import type { Command } from './common.ts';
import { listCommand } from './commands/list.ts';
import { deriveCommand } from './commands/derive.ts';
import { descentCommand, exactCommand, flowCommand } from './commands/trajectory-commands.ts';
import { demoCommand } from './commands/demo.ts';

export const COMMANDS: Command[] = [listCommand, deriveCommand, flowCommand, descentCommand, exactCommand, demoCommand];
