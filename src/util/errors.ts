/**
 * Errors that are the user's to fix (bad spec, bad data, bad option) are GradflowError:
 * the CLI prints `gradflow: <message>` on one line and exits with code 2.
 * Anything else is a bug and keeps its stack trace (shown with --debug).
 */
export class GradflowError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'GradflowError';
    this.exitCode = exitCode;
  }
}

/** Raised by solvers when the state or loss stops being finite. */
export class DivergenceError extends GradflowError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'DivergenceError';
  }
}

export function assertFiniteArray(a: ArrayLike<number>, what: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new GradflowError(`${what} contains a non-finite value (${a[i]}) at index ${i}`);
  }
}
