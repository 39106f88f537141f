/**
 * Worker-process entry of the sweep pool (pool.ts): receives the grid's context once, then
 * cells, and answers each with the cell's finished JSON line. It exits when the pool
 * disconnects (the sweep is done, or the main process died).
 */
import type { ModelDefinition } from '../spec.ts';
import { cellLine, resolveContextModel, runCell, type SweepContext } from './cell.ts';
import type { PoolReply, PoolRequest } from './pool.ts';

if (!process.send) throw new Error('sweep worker: started outside the sweep pool (it needs an IPC channel)');
const send = (reply: PoolReply): void => {
  if (process.connected) process.send?.(reply);
};
let ctx: SweepContext | null = null;
let def: ModelDefinition | null = null;

process.on('disconnect', () => process.exit(0));
process.on('message', (m: PoolRequest) => {
  let reply: PoolReply;
  try {
    if (m.type === 'init') {
      ctx = m.context;
      def = resolveContextModel(ctx);
      reply = { type: 'ready' };
    } else {
      if (!ctx || !def) throw new Error('sweep worker: cell before init');
      reply = { type: 'done', index: m.cell.index, line: cellLine(runCell(ctx, def, m.cell)) };
    }
  } catch (err) {
    const e = err as Error;
    reply = { type: 'fatal', message: e?.message ?? String(err), stack: e?.stack ?? '' };
  }
  send(reply);
});
