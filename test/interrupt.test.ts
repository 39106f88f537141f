/**
 * A long run stops on Ctrl-C (SIGINT) and SIGTERM: the work is synchronous, so a JavaScript signal
 * handler would only run after it (gradflow used to keep computing for minutes after Ctrl-C).
 * The CLI as a child process, from the build when there is one (npm test builds it first).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = existsSync(join(root, 'dist', 'cli.js'));
const argv = built ? [join(root, 'bin', 'gradflow.js')] : [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'src/cli/main.ts')];

describe('a compute-bound run ends on a signal', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s: the process is gone within 2 s of the signal (a flow that would run for minutes)', async (sig) => {
    const child = spawn(process.execPath, [...argv, 'flow', 'diagonal', '--dim', 'd=2000', '--t', '100000', '--max-steps', '100000000'], { stdio: 'ignore' });
    // started (and computing) before the signal
    await new Promise((r) => setTimeout(r, 2500));
    expect(child.exitCode).toBeNull();
    const sent = Date.now();
    child.kill(sig);
    const ended = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(Infinity); }, 10_000);
      child.on('exit', () => { clearTimeout(timer); resolve(Date.now() - sent); });
    });
    expect(ended).toBeLessThan(2000);
  }, 20_000);
});
