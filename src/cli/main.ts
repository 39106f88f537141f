/**
 * gradflow's command line: a thin shell over the library. Bad input becomes one line on
 * stderr and exit code 2; anything else is a bug and says so (stack with --debug).
 */
import { GradflowError } from '../util/errors.ts';
import { formatHelp, parseArgs, suggest, type OptionDecl } from './args.ts';
import { printable, terminalSafe } from '../util/limits.ts';
import { checkOutputDir, removePendingTemps } from '../report/files.ts';
import { COMMON_OPTIONS, FIGURE_OPTIONS, MODEL_OPTIONS, commandVariant, figureLayout, resolveModel, type Command, type CommandIO } from './common.ts';
import { withFigureLayout } from '../report/svg.ts';
import { gradflowVersion } from '../report/json.ts';
import { COMMANDS } from './registry.ts';

function topHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `gradflow — symbolic-numeric gradient flows for the learning dynamics of small neural networks

Usage: gradflow <command> [model] [options]
       gradflow help <command>     that command's options
       gradflow --version

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`).join('\n')}
`;
}

/** A command by name, or one line naming the closest commands. */
function findCommand(name: string): Command {
  const cmd = COMMANDS.find((c) => c.name === name || (c.aliases ?? []).includes(name));
  if (cmd) return cmd;
  const close = suggest(name, COMMANDS.map((c) => c.name));
  const hint = close.length ? `did you mean ${close.map((c) => `'${c}'`).join(' or ')}? ` : '';
  throw new GradflowError(`unknown command '${printable(name)}' (${hint}commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
}

/**
 * A command's help in three blocks: its own options, then the model/data options and the output
 * options it shares with the other commands (an option a command redefines, e.g. compare's --alpha
 * default, counts as its own).
 */
export function commandHelp(cmd: Command, modelName?: string): string {
  const variant = modelName && cmd.variants ? commandVariant(cmd, resolveModel({ positionals: [modelName], values: new Map(), argv: [] })) : undefined;
  const own: Record<string, OptionDecl> = {}, model: Record<string, OptionDecl> = {}, output: Record<string, OptionDecl> = {};
  for (const [k, d] of Object.entries(cmd.options)) {
    if (variant?.omit.includes(k)) continue;
    const o = variant?.options?.[k], needs = variant?.requires?.[k];
    if (o || needs) {
      const decl = { ...d, ...o };
      own[k] = needs ? { ...decl, help: `with --${needs}: ${decl.help}` } : decl;
      continue;
    }
    if (MODEL_OPTIONS[k] === d) model[k] = d;
    else if (COMMON_OPTIONS[k] === d || FIGURE_OPTIONS[k] === d) output[k] = d;
    else own[k] = d;
  }
  // the form for every model labels the options that only some models take
  if (cmd.variants && !variant) {
    const family = (v: { label: string }): string => v.label;
    for (const [k, d] of Object.entries(own)) {
      const takes = cmd.variants.filter((v) => !v.omit.includes(k));
      if (takes.length === cmd.variants.length) continue;
      const others = cmd.variants.filter((v) => v.omit.includes(k));
      own[k] = { ...d, help: `${d.help} [${takes.length <= others.length ? `only ${takes.map(family).join(', ')}` : `not ${others.map(family).join(', ')}`}]` };
    }
  }
  const summary = variant
    ? `${cmd.summary}\n\nFor ${variant.label} (${variant.models}): ${variant.why}.`
    : cmd.variants ? `${cmd.summary}\n\nForms: ${cmd.variants.map((v) => `${v.label} (${v.models})`).join('; ')}.` : cmd.summary;
  return formatHelp(variant?.usage ?? cmd.usage, summary, [['Options', own], ['Model and data', model], ['Output', output]]);
}

/** The model a help request names (`compare diagonal --help`), for commands with per-model forms. */
function helpModel(cmd: Command, rest: string[]): string | undefined {
  return cmd.variants && rest[0] && !rest[0].startsWith('-') ? rest[0] : undefined;
}

/** Every command's option names, so an option given to the wrong command can say where it belongs. */
const OPTION_OWNERS: Record<string, readonly string[]> = Object.fromEntries(COMMANDS.map((c) => [c.name, Object.keys(c.options)]));

/**
 * Runs one command. Its stdout is held back until it succeeds, so a run that fails half-way
 * (bad input found late, divergence) prints only its one-line error, never a partial report.
 */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  const held: string[] = [];
  const code = await runCommand(argv, { ...io, out: (s) => held.push(s) });
  if (code === 0) {
    try {
      for (const s of held) io.out(s);
    } catch (err) {
      return reportError(stdoutFailure(err), argv.includes('--debug'), io);
    }
  }
  return code;
}

/** A failed write to stdout (disk full, closed pipe) is the environment's problem, not a bug. */
export function stdoutFailure(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code ? new GradflowError(`cannot write to standard output (${code})`) : err;
}

/**
 * The integrators' advice names their option fields ("raise maxSteps or loosen rtol"); on the
 * command line it names the flags of the command that ran, or says there is none.
 */
export function cliAdvice(message: string, cmd: Command): string {
  const o = cmd.options;
  const ways = [o['max-steps'] && 'raise --max-steps', o.rtol && 'loosen --rtol', o.t && 'shorten the run with --t'].filter((w): w is string => typeof w === 'string');
  return message.replace(/raise maxSteps or loosen rtol/, ways.length ? ways.join(' or ') : `${cmd.name} has no option to raise it`);
}

async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const debug = argv.includes('--debug');
  let running: Command | undefined;
  try {
    const [name, ...rest] = argv;
    if (name === '--version' || name === 'version') {
      if (rest.length) throw new GradflowError(`${name} takes no arguments`);
      io.out(`gradflow ${gradflowVersion()}`);
      return 0;
    }
    if (name === 'help') {
      if (rest.length > 2) throw new GradflowError(`help takes a command name and, for compare, a model (got ${rest.length} arguments)`);
      const cmd = rest.length ? findCommand(rest[0]) : undefined;
      if (cmd && rest.length === 2 && !cmd.variants) throw new GradflowError(`help ${cmd.name} takes no model: its options are the same for every model (gradflow help ${cmd.name})`);
      io.out(cmd ? commandHelp(cmd, rest[1]) : topHelp());
      return 0;
    }
    if (!name || name === '--help' || name === '-h') {
      io.out(topHelp());
      return 0;
    }
    const cmd = findCommand(name);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(commandHelp(cmd, helpModel(cmd, rest)));
      return 0;
    }
    if (rest.includes('--version')) {
      io.out(`gradflow ${gradflowVersion()}`);
      return 0;
    }
    // --progress only draws on stderr: the recorded command line (JSON argv, report headers, sweep
    // manifests) leaves it out, so results are the same bytes with or without it
    const args = { ...parseArgs(rest, cmd.options, { command: cmd.name, others: OPTION_OWNERS }), argv: [name, ...rest.filter((a) => a !== '--progress')] };
    const maxPositionals = cmd.positionals ?? 1;
    if (args.positionals.length > maxPositionals) {
      const extra = args.positionals.slice(maxPositionals).map((a) => `'${printable(a)}'`).join(' ');
      throw new GradflowError(`${cmd.name}: unexpected argument ${extra} (it takes ${maxPositionals === 0 ? 'no model name' : 'one model name'}; see gradflow ${cmd.name} --help)`);
    }
    const out = args.values.get('out');
    if (typeof out === 'string') checkOutputDir(out);
    // every figure the command draws (also in sweep's report step) takes the --figure-size preset
    running = cmd;
    await withFigureLayout(figureLayout(args), () => cmd.run(args, io));
    return 0;
  } catch (err) {
    if (err instanceof GradflowError && running) err.message = cliAdvice(err.message, running);
    return reportError(err, debug, io);
  }
}

function reportError(err: unknown, debug: boolean, io: CommandIO): number {
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

/** Runs the CLI on process.argv-style arguments with the process's streams (bin/gradflow calls this). */
export function runCli(argv: string[]): void {
  // a reader that goes away (`gradflow list | head -1`) ends the run quietly; other stream errors are one line
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`gradflow: cannot write to standard output (${e.code ?? e.message})\n`);
    removePendingTemps();
    process.exit(e.code === 'EPIPE' ? 0 : 2);
  });
  // no SIGINT/SIGTERM handler: the work is synchronous, so a JavaScript handler would run only
  // after it — Ctrl-C would not stop a long run. Reports are written to temp names and renamed
  // (report/files.ts), so a run stopped mid-write leaves no half-written target file
  const io: CommandIO = {
    // nothing a spec, a file name or a dataset carries can drive the terminal
    out: (s) => process.stdout.write(terminalSafe(s.endsWith('\n') ? s : s + '\n')),
    err: (s) => process.stderr.write(terminalSafe(s.endsWith('\n') ? s : s + '\n')),
    progress: process.stderr.isTTY === true || argv.includes('--progress'),
  };
  main(argv, io).then((code) => {
    process.exitCode = code;
  });
}

if (process.argv[1] && /main\.ts$/.test(process.argv[1])) runCli(process.argv.slice(2));
