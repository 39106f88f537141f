/**
 * gradflow's command line: a thin shell over the library. Bad input becomes one line on
 * stderr and exit code 2; anything else is a bug and says so (stack with --debug).
 */
import { GradflowError } from '../util/errors.ts';
import { formatHelp, parseArgs } from './args.ts';
import type { Command, CommandIO } from './common.ts';
import { COMMANDS } from './registry.ts';

function topHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `gradflow — symbolic-numeric gradient flows for the learning dynamics of small neural networks

Usage: gradflow <command> [model] [options]      (gradflow <command> --help for its options)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`).join('\n')}
`;
}

export async function main(argv: string[], io: CommandIO): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === 'help' || name === '-h') {
      io.out(topHelp());
      return 0;
    }
    const cmd: Command | undefined = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw new GradflowError(`unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(formatHelp(cmd.usage, cmd.summary, cmd.options));
      return 0;
    }
    const args = { ...parseArgs(rest, cmd.options), argv: [name, ...rest] };
    await cmd.run(args, io);
    return 0;
  } catch (err) {
    if (err instanceof GradflowError) {
      io.err(`gradflow: ${err.message}`);
      if (debug) io.err(err.stack ?? '');
      return err.exitCode;
    }
    const e = err as Error;
    io.err(`gradflow: internal error: ${e?.message ?? String(err)}${debug ? '' : ' (run with --debug for the stack trace)'}`);
    if (debug) io.err(e?.stack ?? '');
    return 1;
  }
}

/** Runs the CLI on process.argv-style arguments with the process's streams (bin/gradflow calls this). */
export function runCli(argv: string[]): void {
  // a closed pipe (`gradflow list | head`) ends the output, not the process with a stack trace
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const io: CommandIO = {
    out: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
    err: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
    progress: process.stderr.isTTY === true || argv.includes('--progress'),
  };
  main(argv, io).then((code) => {
    process.exitCode = code;
  });
}

if (process.argv[1] && /main\.ts$/.test(process.argv[1])) runCli(process.argv.slice(2));
