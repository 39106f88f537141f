/** The library-level bad-input contract: a GradflowError (exit code 2) with a one-line message. */
import { expect } from 'vitest';
import { GradflowError } from '../../src/util/errors.ts';

export function expectGradflowError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try { fn(); } catch (err) { caught = err; }
  expect(caught).toBeInstanceOf(GradflowError);
  expect((caught as GradflowError).exitCode).toBe(2);
  expect((caught as Error).message).toMatch(pattern);
  expect((caught as Error).message).not.toContain('\n');
}
