// Types of testing.js: testing a stage on the host against a fake host. Reference:
// docs/plugins/js.md, "Testing".

/** What the stage logged and ran, and how exec and agent answer. */
export const fakeHost: {
  logs: { level: string; message: string }[];
  progressReports: { message: string; fraction: number | null }[];
  /** The WIT `command` records the stage ran. */
  commands: { program: string; args: string[]; cwd?: string; env: [string, string][]; timeoutMs?: bigint; outputCap?: bigint }[];
  sessions: unknown[];
  exec: ((command: any) => FakeOutput | void) | null;
  agent: ((request: any) => unknown) | null;
  reset(handlers?: { exec?: (command: any) => FakeOutput | void; agent?: (request: any) => unknown }): void;
  messages(level?: string): string[];
};

/** What an exec handler returns (missing fields: exit 0, empty output). */
export interface FakeOutput {
  exitCode?: number | null;
  signal?: number;
  timedOut?: boolean;
  stdout?: string;
  stderr?: string;
  stdoutBytes?: number;
  stderrBytes?: number;
  durationMs?: number;
}

/** An error the way the host refuses (`not-permitted`, `not-found`, ...), to throw from a handler. */
export function hostRefusal(kind: string, message: string): Error & { payload: { tag: string; val: string } };

/** An exec handler running programs for real with `/workspace` mapped to `workspace`. */
export function realExec(options: { workspace: string; allow?: string[] }): (command: any) => FakeOutput;

/** Friendly values of a context (all optional). */
export interface ContextValues {
  config?: unknown;
  task?: { id?: string; title?: string; body?: string; labels?: string[] };
  outputs?: Record<string, unknown>;
  attempt?: number;
  git?: { branch?: string; baseBranch?: string; baseCommit?: string; repoRoot?: string };
  workspace?: string | null;
  feedback?: { fromStage?: string; attempt?: number; message?: string; detail?: unknown };
  previousFailure?: { message?: string; detail?: unknown };
  interrupted?: boolean;
  runId?: string;
  stageId?: string;
}

/** The WIT `context` record the engine would send. */
export function witContext(values?: ContextValues): unknown;

/** What the engine would see from one call of the stage's exported `run`, parsed. */
export type RunResult =
  | { ok: true; summary: string; outputs: Record<string, any> }
  | { ok: false; kind: 'fatal' | 'retryable'; message: string; detail: any };

/** Calls a stage's exported `run` with `witContext(values)`. */
export function runStage(run: (context: unknown) => Promise<unknown>, values?: ContextValues): Promise<RunResult>;

/** What the engine would see from one call of a task source's export. */
export type SourceResult =
  | { ok: true; value: any }
  | { ok: false; kind: string; message: string; diagnostics: { message: string; location?: { file: string; line?: number } }[] };

/** Calls a task source's `listTasks`, `claim` or `update` with `config` sent as JSON text. */
export function callSource(exported: (config: string, ...rest: any[]) => Promise<unknown>, config?: unknown, ...rest: unknown[]): Promise<SourceResult>;
