// A failed backend call, as the error banner tells it.
import type { IpcError } from './bindings/IpcError';

export interface Problem {
  /** What the console was trying to do, in plain words: "load the recent alerts". */
  doing: string;
  error: IpcError;
}

/** Receives a component's current problem, or `null` once its calls succeed again. */
export type ReportProblem = (problem: Problem | null) => void;

/** One plain sentence for the banner, e.g. "Could not load the recent alerts: database is locked." */
export function describeProblem(p: Problem): string {
  const detail = p.error.message.trim().replace(/[.\s]+$/, '');
  return detail ? `Could not ${p.doing}: ${detail}.` : `Could not ${p.doing}.`;
}
