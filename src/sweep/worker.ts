/**
 * Worker-process entry of the sweep pool (pool.ts): receives the grid's context once, then
 * groups of cells, and answers each group with its cells' finished JSON lines. It exits when the pool
 * disconnects (the sweep is done, or the main process died).
 */
import type { ModelDefinition } from '../spec.ts';
import { cellLine, resolveContextModel, runCellBatch, type SweepContext } from './cell.ts';
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
      if (!ctx || !def) throw new Error('sweep worker: cells before init');
      const c = ctx;
      reply = { type: 'done', lines: runCellBatch(c, def, m.cells).map((r) => [r.index, cellLine(r)]) };
    }
  } catch (err) {
    const e = err as Error;
    reply = { type: 'fatal', message: e?.message ?? String(err), stack: e?.stack ?? '' };
  }
  send(reply);
});
