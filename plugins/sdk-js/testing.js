// Testing a stage on the host with node's test runner, without building the component:
// importing this module makes the WIT imports (`engine:stage/...`) resolve to a fake host,
// so the stage loads in node afterwards, and this module drives it.
//
//   import { fakeHost, realExec, runStage } from '../.engine/sdk/js/testing.js';
//   const { run } = await import('../app.js');   // after testing.js: a dynamic import
//   fakeHost.reset({ exec: realExec({ workspace: dir }) });
//   const result = await runStage(run, { config: { file: 'CHANGELOG.md' }, git: { baseCommit } });
//   assert.equal(result.ok, true);

import { spawnSync } from 'node:child_process';
import { register } from 'node:module';
import { constants } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';

// Importing this module is enough to load the stage afterwards (with `await import`): the
// WIT imports resolve to the fake host from here on.
register('./hooks.js', import.meta.url);

/**
 * A refusal of the host, thrown from an exec or agent handler (the shape the WIT bindings
 * throw: an error with `payload = { tag, val }`), e.g. `hostRefusal('not-permitted', 'git')`.
 * @param {string} kind
 * @param {string} message
 */
export function hostRefusal(kind, message) {
  const error = new Error(`${kind}: ${message}`);
  error.payload = { tag: kind, val: message };
  return error;
}

/** The fake host: what the stage logged and ran, and how exec and agent answer. */
export const fakeHost = {
  /** `{ level, message }` of every log line. */
  logs: [],
  /** `{ message, fraction }` of every progress report. */
  progressReports: [],
  /** Every WIT `command` record the stage ran. */
  commands: [],
  /** Every WIT `session-request` the stage started. */
  sessions: [],
  /** `(command) => partial output`: answers exec; the default refuses every program. */
  exec: null,
  /** `(request) => session`: answers agent.start; the default refuses. */
  agent: null,

  /**
   * Forgets everything recorded and sets the handlers.
   * @param {{ exec?: Function, agent?: Function }} [handlers]
   */
  reset(handlers = {}) {
    this.logs = [];
    this.progressReports = [];
    this.commands = [];
    this.sessions = [];
    this.exec = handlers.exec ?? null;
    this.agent = handlers.agent ?? null;
  },

  /** The messages logged at `level` (every level when omitted). */
  messages(level) {
    return this.logs.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  },

  /** @internal The WIT `output` record for a command, from the `exec` handler. */
  answerExec(command) {
    if (!this.exec) {
      throw hostRefusal('not-permitted', `${command.program} (the fake host grants no program: set fakeHost.exec)`);
    }
    const out = this.exec(command) ?? {};
    return {
      exitCode: out.exitCode === undefined ? 0 : out.exitCode ?? undefined,
      signal: out.signal ?? undefined,
      timedOut: Boolean(out.timedOut),
      stdout: out.stdout ?? '',
      stderr: out.stderr ?? '',
      stdoutBytes: BigInt(out.stdoutBytes ?? Buffer.byteLength(out.stdout ?? '')),
      stderrBytes: BigInt(out.stderrBytes ?? Buffer.byteLength(out.stderr ?? '')),
      durationMs: BigInt(out.durationMs ?? 0),
    };
  },

  /** @internal A session resource for a request, from the `agent` handler. */
  answerAgent(request) {
    if (!this.agent) {
      throw hostRefusal('not-permitted', 'the fake host grants no agent: set fakeHost.agent');
    }
    return this.agent(request);
  },
};

/**
 * An exec handler that runs programs for real on this machine, with `/workspace` mapped to
 * `workspace` (no sandbox: for tests of your own stage only). `allow` lists the programs it
 * runs (all when omitted), as a workflow's `permissions.exec` would.
 * @param {{ workspace: string, allow?: string[] }} options
 */
export function realExec({ workspace, allow }) {
  const root = resolve(workspace);
  return (command) => {
    if (allow && !allow.includes(command.program)) {
      throw hostRefusal('not-permitted', `${command.program} is not granted`);
    }
    let cwd = root;
    if (command.cwd) {
      const inside = command.cwd.startsWith('/workspace')
        ? join(root, command.cwd.slice('/workspace'.length))
        : isAbsolute(command.cwd) ? command.cwd : join(root, command.cwd);
      if (relative(root, inside).startsWith('..')) {
        throw hostRefusal('invalid-cwd', `${command.cwd} is outside the workspace`);
      }
      cwd = inside;
    }
    const started = Date.now();
    const result = spawnSync(command.program, command.args, {
      cwd,
      env: { ...process.env, ...Object.fromEntries(command.env ?? []) },
      timeout: command.timeoutMs === undefined ? undefined : Number(command.timeoutMs),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error && result.error.code === 'ENOENT') {
      throw hostRefusal('not-found', command.program);
    }
    const timedOut = Boolean(result.error && result.error.code === 'ETIMEDOUT');
    if (result.error && !timedOut) {
      throw hostRefusal('spawn-failed', `${command.program}: ${result.error.message}`);
    }
    return {
      exitCode: result.status,
      signal: result.signal ? constants.signals[result.signal] : undefined,
      timedOut,
      stdout: result.stdout ?? '',
      stderr: result.stderr ?? '',
      durationMs: Date.now() - started,
    };
  };
}

/**
 * The WIT `context` record a stage's exported `run` receives, from friendly values (all
 * optional): `{ config, task: { title, body, labels }, outputs: { stage: {...} }, attempt,
 * git: { baseCommit, ... }, workspace, feedback, previousFailure, interrupted, runId, stageId }`.
 * @param {Record<string, any>} [values]
 */
export function witContext(values = {}) {
  const runId = values.runId ?? '01TESTRUN';
  const stageId = values.stageId ?? 'stage';
  const attempt = values.attempt ?? 1;
  const task = values.task ?? {};
  const git = values.git;
  const failure = (f) => (f ? { message: f.message ?? '', detail: JSON.stringify(f.detail ?? {}) } : undefined);
  return {
    runId,
    stageId,
    attempt,
    keys: { stage: `${runId}/${stageId}`, attempt: `${runId}/${stageId}/${attempt}` },
    task: {
      id: task.id ?? 't1',
      title: task.title ?? 'a test task',
      body: task.body ?? task.title ?? 'a test task',
      labels: task.labels ?? [],
    },
    config: values.config === undefined ? 'null' : JSON.stringify(values.config),
    outputs: Object.entries(values.outputs ?? {}).map(([stage, o]) => ({ stage, outputs: JSON.stringify(o) })),
    feedback: values.feedback
      ? {
          fromStage: values.feedback.fromStage ?? 'later',
          attempt: values.feedback.attempt ?? 1,
          message: values.feedback.message ?? '',
          detail: JSON.stringify(values.feedback.detail ?? {}),
        }
      : undefined,
    interrupted: Boolean(values.interrupted),
    workspace: values.workspace === null ? undefined : values.workspace ?? '/workspace',
    previousFailure: failure(values.previousFailure),
    git: git
      ? {
          branch: git.branch ?? 'engine/t1-a-test-task',
          baseBranch: git.baseBranch ?? 'main',
          baseCommit: git.baseCommit ?? '0'.repeat(40),
          repoRoot: git.repoRoot ?? '/repo',
        }
      : undefined,
  };
}

/**
 * Calls a stage's exported `run` with {@link witContext}(values) and returns what the engine
 * would see, parsed: `{ ok: true, summary, outputs }` or `{ ok: false, kind: 'fatal' |
 * 'retryable', message, detail }`.
 * @param {(raw: object) => Promise<object>} run the stage's exported `run`
 * @param {Record<string, any>} [values]
 */
export async function runStage(run, values = {}) {
  const result = await run(witContext(values));
  if (result.tag === 'ok') {
    return { ok: true, summary: result.val.summary, outputs: JSON.parse(result.val.outputs) };
  }
  return {
    ok: false,
    kind: result.val.tag,
    message: result.val.val.message,
    detail: JSON.parse(result.val.val.detail),
  };
}

/**
 * Calls one of a task source's exports (`listTasks`, `claim`, `update`) with `config` as the
 * engine sends it (JSON text) and the other arguments as they are, and returns what the engine
 * would see: `{ ok: true, value }` (the WIT record) or `{ ok: false, kind, message,
 * diagnostics }`.
 * @param {(config: string, ...rest: any[]) => Promise<object>} exported
 * @param {unknown} config
 * @param {...unknown} rest
 */
export async function callSource(exported, config, ...rest) {
  const result = await exported(config === undefined ? 'null' : JSON.stringify(config), ...rest);
  if (result.tag === 'ok') {
    return { ok: true, value: result.val };
  }
  const { tag, val } = result.val;
  return Array.isArray(val)
    ? { ok: false, kind: tag, message: val.map((d) => d.message).join('; '), diagnostics: val }
    : { ok: false, kind: tag, message: val, diagnostics: [] };
}
