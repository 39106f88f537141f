/**
 * Worker-thread entry of the sweep pool (pool.ts): receives the grid's context once, then one
 * cell at a time, and answers with the cell's finished JSON line.
 */
import { parentPort } from 'node:worker_threads';
import type { ModelDefinition } from '../spec.ts';
import { cellLine, resolveContextModel, runCell, type SweepContext } from './cell.ts';
import type { PoolReply, PoolRequest } from './pool.ts';

const port = parentPort;
if (!port) throw new Error('sweep worker: started outside a worker thread');
let ctx: SweepContext | null = null;
let def: ModelDefinition | null = null;

port.on('message', (m: PoolRequest) => {
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
  port.postMessage(reply);
});
