// Types of the engine's JavaScript SDK for task sources (engine-source.js). Reference:
// docs/plugins/js.md. Field names are the WIT names in camelCase (`depends-on` → `dependsOn`).

import type { Permissions } from './engine-stage.js';
export { ExecError, ExecOutput, ExecOptions, Fatal, Retryable, StageError, Permissions, exec, log, progress } from './engine-stage.js';

/** Where a task stands (WIT `task-status`). */
export type TaskStatus = 'todo' | 'in-progress' | 'done' | 'blocked';

/** Where a task or a problem is written (WIT `location`); a string is a file. */
export type Location = string | { file: string; line?: number };

/** A task (WIT `task`); everything but `id` and `title` is optional. */
export interface SourceTask {
  id: string;
  title: string;
  /** Default ''. */
  body?: string;
  /** Default `todo`. */
  status?: TaskStatus;
  /** The status as the source writes it. Default: `status`. */
  rawStatus?: string;
  /** 0..255, 0 the highest. Default 0. */
  priority?: number;
  labels?: string[];
  dependsOn?: string[];
  milestone?: string | null;
  estimate?: string | null;
  /** Strings (not done) or `{ text, done }`. */
  checklist?: (string | { text: string; done: boolean })[];
  traces?: string[];
  location?: Location | null;
}

/** A problem found in the source's data (WIT `diagnostic`); a string is the message. */
export type Diagnostic = string | { message: string; location?: Location };

/** A task source: who it is, what it needs, and its functions (each gets the parsed config). */
export interface SourceSpec<Config = any> {
  name: string;
  version?: string;
  summary?: string;
  configSchema?: Record<string, unknown> | string;
  permissions?: Permissions;
  /** Every task, in the source's order: an array, or `{ tasks, warnings }`. */
  listTasks(config: Config): SourceTask[] | { tasks: SourceTask[]; warnings?: Diagnostic[] } | Promise<SourceTask[] | { tasks: SourceTask[]; warnings?: Diagnostic[] }>;
  /** Claims a task for `claimant`; returns it as it is now. Absent: `unsupported`. */
  claim?(config: Config, id: string, claimant: string): SourceTask | Promise<SourceTask>;
  /** Records a new status (with an optional note); returns the task. Absent: `unsupported`. */
  update?(config: Config, id: string, status: TaskStatus, note: string | null): SourceTask | Promise<SourceTask>;
}

/** The component's exports: `export const { describe, listTasks, claim, update } = defineSource({...})`. */
export function defineSource<Config = any>(spec: SourceSpec<Config>): {
  describe(): unknown;
  listTasks(config: string): Promise<unknown>;
  claim(config: string, id: string, claimant: string): Promise<unknown>;
  update(config: string, id: string, status: TaskStatus, note?: string): Promise<unknown>;
};

/** A failed call (WIT `source-error`). */
export class SourceError extends Error {
  constructor(
    kind: 'invalid-config' | 'malformed' | 'not-found' | 'conflict' | 'unsupported' | 'unavailable' | 'failed',
    message: string,
    diagnostics?: Diagnostic[],
  );
  readonly kind: string;
  readonly diagnostics: Diagnostic[];
  static notFound(message: string): SourceError;
  static conflict(message: string): SourceError;
  static unsupported(message: string): SourceError;
  static unavailable(message: string): SourceError;
  static invalidConfig(message: string): SourceError;
  static malformed(diagnostics: Diagnostic[]): SourceError;
}
