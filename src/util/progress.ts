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

/** At most one call a second to draw(elapsed ms), plus the final one; nothing after the final one. */
function throttled(draw: (elapsed: number) => void, now: () => number): (final: boolean) => void {
  const start = now();
  let last = start, finished = false;
  return (final) => {
    if (finished) return;
    const t = now();
    if (!final && t - last < 1000) return;
    last = t;
    finished = final;
    draw(t - start);
  };
}

export function progressLine(write: (line: string) => void, label: string, now: () => number = Date.now): Progress {
  let f = 0;
  const tick = throttled((elapsed) => {
    const eta = f > 0 && f < 1 ? ` · ETA ${fmtDuration((elapsed / f) * (1 - f))}` : '';
    write(`${label} ${progressBar(f)} ${(100 * f).toFixed(0)}% · ${fmtDuration(elapsed)}${eta}`);
  }, now);
  return (fraction) => {
    f = Math.min(1, Math.max(0, fraction));
    tick(fraction >= 1);
  };
}

/**
 * Progress of a loop whose length is not known in advance (AGF's jumps: the run ends when the
 * loss is fitted or no neuron can grow): the caller's account of where it stands, with the
 * elapsed time, at most once a second; `final` draws the closing line.
 */
export type StatusLine = (text: string, final?: boolean) => void;

export function statusLine(write: (line: string) => void, label: string, now: () => number = Date.now): StatusLine {
  let text = '';
  const tick = throttled((elapsed) => write(`${label}: ${text} · ${fmtDuration(elapsed)}`), now);
  return (t, final = false) => {
    text = t;
    tick(final);
  };
}

/** How far a jump-by-jump run (AGF) has got: jumps so far, rescaled time reached, loss after the last jump. */
export interface JumpProgress { jumps: number; rescaledTime: number; loss: number; initialLoss: number }

/** Takes the solver's reports; finish(schedule) draws the closing line from the result. */
export interface JumpReporter {
  (at: JumpProgress): void;
  finish(s: { jumps: readonly { rescaledTime: number; lossAfter: number }[]; initialLoss: number; extra?: { status?: unknown } }): void;
}

/** `label: 3 jumps · t/T₃(α) = 0.8123 · loss 0.1234 = 1.88e-2·L(0) · 0:07`; unit is the rescaled-time label. */
export function jumpProgressLine(write: (line: string) => void, label: string, unit: string, now: () => number = Date.now): JumpReporter {
  const line = statusLine(write, label, now);
  const text = (at: JumpProgress): string => {
    const fitted = at.initialLoss > 0 ? ` = ${(at.loss / at.initialLoss).toExponential(2)}·L(0)` : '';
    return `${at.jumps} jump${at.jumps === 1 ? '' : 's'} · ${unit} = ${at.rescaledTime.toPrecision(4)} · loss ${at.loss.toPrecision(4)}${fitted}`;
  };
  const report = ((at: JumpProgress) => line(text(at))) as JumpReporter;
  report.finish = (s) => {
    const last = s.jumps.at(-1);
    const status = typeof s.extra?.status === 'string' ? `, ${s.extra.status}` : '';
    line(`done${status}: ${text({ jumps: s.jumps.length, rescaledTime: last?.rescaledTime ?? 0, loss: last?.lossAfter ?? s.initialLoss, initialLoss: s.initialLoss })}`, true);
  };
  return report;
}
