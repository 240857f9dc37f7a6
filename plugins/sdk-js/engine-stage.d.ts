// Types of the engine's JavaScript SDK for stages (engine-stage.js). Reference:
// docs/plugins/js.md. Field names are the WIT names in camelCase (`base-commit` → `baseCommit`);
// WIT u64 values reach the stage as `number` (the SDK converts the bindings' BigInt).

/** How a stage may use the run's worktree, mounted at `/workspace` (WIT `workspace-access`). */
export type WorkspaceAccess = 'none' | 'read' | 'write';

/** How often the stage's effects may happen (WIT `delivery`). */
export type Delivery = 'at-least-once' | 'at-most-once';

/** What the stage needs from the host (WIT `permissions`); every field is optional. */
export interface Permissions {
  /** Access to the run's worktree. Default `none`. */
  workspace?: WorkspaceAccess;
  /** Programs run through `exec`, by bare name (`git`). Default none. */
  exec?: string[];
  /** Whether the stage starts agent sessions. Default `false`. */
  agent?: boolean;
  /** Hosts the stage sends HTTP requests to. Default none. */
  net?: string[];
}

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The task the run works on (WIT `task`). */
export interface Task {
  id: string;
  title: string;
  body: string;
  labels: string[];
}

/** Why a later stage sent the run back here (WIT `feedback`, detail parsed). */
export interface Feedback {
  fromStage: string;
  attempt: number;
  message: string;
  detail: unknown;
}

/** The failure of this stage's previous attempt (WIT `failure`, detail parsed). */
export interface PreviousFailure {
  message: string;
  detail: unknown;
}

/** The run's git facts (WIT `run-git`). */
export interface RunGit {
  /** The run's branch, checked out in the worktree. */
  branch: string;
  /** The branch the run started from and merges into. */
  baseBranch: string;
  /** The base branch's commit when the run started. */
  baseCommit: string;
  /** The user's checkout on the host; for git commands only. */
  repoRoot: string;
}

/** What `run` gets for one attempt (WIT `context`, JSON parsed, `null` for none). */
export interface Context<Config = any> {
  runId: string;
  stageId: string;
  /** Attempt number, from 1; only goes up. */
  attempt: number;
  /** Idempotency keys: `RUN/STAGE` and `RUN/STAGE/ATTEMPT`. */
  keys: { stage: string; attempt: string };
  task: Task;
  /** The `with:` config, parsed; `{}` when there is none; the schema's top-level defaults filled in. */
  config: Config;
  /** Outputs of the stages that already succeeded, by stage id, parsed (and `@run`: the run's facts). */
  outputs: Record<string, any>;
  feedback: Feedback | null;
  /** True when an earlier attempt was interrupted by a crash. */
  interrupted: boolean;
  /** `/workspace` when the stage has workspace access. */
  workspace: string | null;
  previousFailure: PreviousFailure | null;
  git: RunGit | null;
  /** The WIT record as the bindings gave it (JSON as text, `undefined` for none). */
  raw: unknown;
}

/** What `run` returns: a summary, `{ summary, outputs }`, or nothing. */
export type StageResult =
  | string
  | void
  | undefined
  | { summary?: string; outputs?: Record<string, unknown> };

/** A stage: who it is, what it needs, and one attempt. */
export interface StageSpec<Config = any> {
  /** Short name. */
  name: string;
  /** The stage's own version (semver). Default `0.1.0`. */
  version?: string;
  /** One line saying what it does. Default: the name. */
  summary?: string;
  /** JSON Schema of the `with:` config, as an object (or JSON text). Default `{}`. */
  configSchema?: Record<string, unknown> | string;
  /** What it needs from the host. */
  permissions?: Permissions;
  /** Default `at-least-once`. */
  delivery?: Delivery | 'at_least_once' | 'at_most_once';
  /** One attempt. Throw `Fatal`/`Retryable` to fail; any other error fails it fatally. */
  run(ctx: Context<Config>): StageResult | Promise<StageResult>;
}

/** The component's exports: `export const { describe, run } = defineStage({...})`. */
export interface StageExports {
  describe(): unknown;
  run(context: unknown): Promise<unknown>;
}

/** The component's exports from a stage's spec; a mistake in the spec throws a TypeError (at build time). */
export function defineStage<Config = any>(spec: StageSpec<Config>): StageExports;

/** Options of `Fatal`, `Retryable` and `StageError`. */
export interface ErrorOptions {
  /** Structured detail, any JSON value (BigInt allowed). Default `{}`. */
  detail?: unknown;
  cause?: unknown;
}

/** A failed attempt. */
export class StageError extends Error {
  constructor(message: string, options?: ErrorOptions & { retryable?: boolean });
  readonly retryable: boolean;
  readonly detail: unknown;
}

/** Deterministic failure: not retried (WIT `fatal`). */
export class Fatal extends StageError {
  constructor(message: string, options?: ErrorOptions);
}

/** Transient failure: retried under the stage's retry policy (WIT `retryable`). */
export class Retryable extends StageError {
  constructor(message: string, options?: ErrorOptions);
}

/** A `Fatal` that ends the run "needs attention": detail `{ needs_attention: true, reason, ...extra }`. */
export function needsAttention(reason: string, extra?: Record<string, unknown>): Fatal;

/** Log lines in the run's log: arguments joined with spaces, objects as JSON. */
export const log: {
  trace(...parts: unknown[]): void;
  debug(...parts: unknown[]): void;
  info(...parts: unknown[]): void;
  warn(...parts: unknown[]): void;
  error(...parts: unknown[]): void;
};

/** Progress shown while the stage runs; `fraction` 0..1 when known. */
export function progress(message: string, fraction?: number): void;

/** Options of `exec.run`. */
export interface ExecOptions {
  /** `/workspace` or a directory below it (absolute, or relative to it). */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill it after this many milliseconds (capped by the host). */
  timeoutMs?: number;
  /** Keep at most this many bytes of stdout and of stderr (the tail). */
  outputCap?: number;
}

/** How a program ended (WIT `output`, numbers for u64). */
export class ExecOutput {
  readonly program: string;
  readonly args: string[];
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly durationMs: number;
  /** Exit code 0 before the timeout. */
  readonly success: boolean;
  /** `exit 3`, `killed by signal 9`, `timed out`. */
  readonly statusText: string;
  /** This output when it succeeded; otherwise throws a `Fatal` naming the command and its stderr. */
  check(what?: string): ExecOutput;
}

/** The host refused to run a program (WIT `exec-error`). */
export class ExecError extends Error {
  readonly program: string;
  readonly kind: 'not-permitted' | 'not-found' | 'invalid-cwd' | 'invalid-argument' | 'spawn-failed';
  readonly hostMessage: string;
}

/** Running granted programs on the host. */
export const exec: {
  run(program: string, args?: string[], options?: ExecOptions): ExecOutput;
};

/** A session request (WIT `session-request`). */
export interface SessionRequest {
  backend: string;
  prompt: string;
  model?: string;
  systemPrompt?: string;
  permissionMode?: 'default' | 'accept-edits' | 'plan' | 'bypass';
  allowedTools?: string[];
  deniedTools?: string[];
  maxTurns?: number;
  resumeSession?: string;
  budgetUsd?: number;
}

/** An event of a session (WIT `event` variant: `{ tag: 'tool-started', val: {...} }`, numbers for u64). */
export interface AgentEvent {
  tag: string;
  val?: any;
}

/** A running agent session. */
export class Session {
  nextEvent(): AgentEvent | null;
  events(): Generator<AgentEvent>;
  cancel(): void;
  /** The WIT `summary` record (camelCase, numbers for u64). */
  finish(): any;
}

/** The host refused to start a session (WIT `agent-error`). */
export class AgentError extends Error {
  readonly kind: 'not-permitted' | 'unknown-backend' | 'budget-exhausted' | 'spawn-failed' | 'invalid-request';
  readonly hostMessage: string;
}

/** Agent sessions (needs `permissions.agent: true`). */
export const agent: {
  start(request: SessionRequest): Session;
};
