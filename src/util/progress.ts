/**
 * Progress of a long loop as one line on stderr: a bar, the fraction done, the elapsed time and
 * an ETA, at most once a second and once at the end. Drawn only where the caller asked for it
 * (stderr a terminal, or --progress), so stdout — and so every result — is the same bytes either way.
 */

/** m:ss or h:mm:ss. */
export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export function progressBar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(width * fraction)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** Reports fraction ∈ [0, 1] of the work done (monotone); `write` gets whole lines. */
export type Progress = (fraction: number) => void;

export function progressLine(write: (line: string) => void, label: string, now: () => number = Date.now): Progress {
  const start = now();
  let last = start, finished = false;
  return (fraction) => {
    if (finished) return;
    const t = now();
    const done = fraction >= 1;
    if (!done && t - last < 1000) return;
    last = t;
    finished = done;
    const f = Math.min(1, Math.max(0, fraction));
    const elapsed = t - start;
    const eta = f > 0 && !done ? ` · ETA ${fmtDuration((elapsed / f) * (1 - f))}` : '';
    write(`${label} ${progressBar(f)} ${(100 * f).toFixed(0)}% · ${fmtDuration(elapsed)}${eta}`);
  };
}
