/**
 * The sweep pool's cell queue: every cell handed out exactly once whatever order the workers
 * ask in, each worker first through its own contiguous block (one width of the grid), then
 * helping from the back of the block with the most left.
 */
import { describe, expect, it } from 'vitest';
import { BlockQueue } from '../src/sweep/pool.ts';

describe('BlockQueue', () => {
  it('hands out 0…total−1 exactly once for any request order', () => {
    let s = 12345;
    const rand = (k: number): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) % k);
    for (const [total, blocks] of [[1, 1], [1, 3], [7, 2], [60, 2], [61, 3], [100, 16], [5, 8]]) {
      const q = new BlockQueue(total, blocks);
      const seen: number[] = [];
      const live = new Set(Array.from({ length: blocks }, (_, b) => b));
      while (live.size) {
        const b = [...live][rand(live.size)];
        const at = q.take(b);
        if (at === null) live.delete(b);
        else seen.push(at);
      }
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    }
  });

  it('worker q starts at the front of block q; an idle worker takes from the back of the largest block', () => {
    const q = new BlockQueue(10, 2); // blocks [0, 5) and [5, 10)
    expect([q.take(0), q.take(1), q.take(0), q.take(1)]).toEqual([0, 5, 1, 6]);
    expect([q.take(0), q.take(0), q.take(0)]).toEqual([2, 3, 4]); // block 0 is done; block 1 holds 7, 8, 9
    expect([q.take(0), q.take(1), q.take(0), q.take(1)]).toEqual([9, 7, 8, null]);
  });
});
