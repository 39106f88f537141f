/** Timing helpers shared by the benchmarks: warm up, then take the median of repeated batches. */
export function timeIt(fn: () => unknown, minTimeMs = 300): number {
  for (let k = 0; k < 20; k++) fn();
  const reps = batchReps(fn, 30);
  const samples: number[] = [];
  const start = performance.now();
  while (performance.now() - start < minTimeMs || samples.length < 5) {
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) fn();
    samples.push((performance.now() - t0) / reps / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

/** The smallest power-of-two repetition count whose batch of fn takes more than batchMs. */
export function batchReps(fn: () => unknown, batchMs: number): number {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) fn();
    if (performance.now() - t0 > batchMs) return reps;
    reps *= 2;
  }
}

export function report(title: string, header: string[], rows: string[][]): void {
  const w = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  console.log(`\n${title}`);
  console.log(header.map((h, c) => h.padEnd(w[c])).join('  '));
  console.log(w.map((x) => '-'.repeat(x)).join('  '));
  for (const r of rows) console.log(r.map((v, c) => v.padEnd(w[c])).join('  '));
}
