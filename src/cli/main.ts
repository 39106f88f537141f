/**
 * gradflow's command line: a thin shell over the library. Bad input becomes one line on
 * stderr and exit code 2; anything else is a bug and says so (stack with --debug).
 */
import { GradflowError } from '../util/errors.ts';
import { formatHelp, parseArgs } from './args.ts';
import { printable } from '../util/limits.ts';
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
    const args = parseArgs(rest, cmd.options);
    const maxPositionals = cmd.positionals ?? 1;
    if (args.positionals.length > maxPositionals) {
      const extra = args.positionals.slice(maxPositionals).map((a) => `'${printable(a)}'`).join(' ');
      throw new GradflowError(`${cmd.name}: unexpected argument ${extra} (it takes ${maxPositionals === 0 ? 'no model name' : 'one model name'}; see gradflow ${cmd.name} --help)`);
    }
    await cmd.run(args, io);
    return 0;
  } catch (err) {
    if (err instanceof GradflowError) {
      io.err(`gradflow: ${printable(err.message)}`);
      if (debug) io.err(err.stack ?? '');
      return err.exitCode;
    }
    const e = err as Error;
    io.err(`gradflow: internal error: ${printable(e?.message ?? String(err))}${debug ? '' : ' (run with --debug for the stack trace)'}`);
    if (debug) io.err(e?.stack ?? '');
    return 1;
  }
}

const isEntry = process.argv[1] && /main\.ts$/.test(process.argv[1]);
if (isEntry) {
  const argv = process.argv.slice(2);
  const io: CommandIO = {
    out: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
    err: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
    progress: process.stderr.isTTY === true || argv.includes('--progress'),
  };
  main(argv, io).then((code) => {
    process.exitCode = code;
  });
}
