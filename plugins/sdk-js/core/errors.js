// Typed errors a stage throws, and the mapping of anything thrown to the WIT `stage-error`
// variant (`retryable(failure)` / `fatal(failure)`, each `{ message, detail }` with detail as
// JSON text).

import { describeValue, isPlainObject, stringify } from './json.js';

/**
 * A failed attempt, with a message for people and structured detail (any JSON value).
 * Throw {@link Fatal} or {@link Retryable} rather than this class.
 */
export class StageError extends Error {
  /**
   * @param {string} message
   * @param {{ detail?: unknown, retryable?: boolean, cause?: unknown }} [options]
   */
  constructor(message, options = {}) {
    super(String(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StageError';
    /** Whether trying again may succeed. */
    this.retryable = Boolean(options.retryable);
    /** Structured detail (any JSON value); `{}` when there is none. */
    this.detail = options.detail === undefined ? {} : options.detail;
  }
}

/** A deterministic failure: trying again the same way will not help (WIT `fatal`). */
export class Fatal extends StageError {
  /**
   * @param {string} message
   * @param {{ detail?: unknown, cause?: unknown }} [options]
   */
  constructor(message, options = {}) {
    super(message, { ...options, retryable: false });
    this.name = 'Fatal';
  }
}

/** A transient failure: the engine retries it under the stage's retry policy (WIT `retryable`). */
export class Retryable extends StageError {
  /**
   * @param {string} message
   * @param {{ detail?: unknown, cause?: unknown }} [options]
   */
  constructor(message, options = {}) {
    super(message, { ...options, retryable: true });
    this.name = 'Retryable';
  }
}

/**
 * The run should not go on until a person looks: a {@link Fatal} whose message is
 * `needs attention: <reason>` and whose detail is `{ needs_attention: true, reason, ...extra }`.
 * The engine ends the run "needs attention" (exit code 6), without retry or `on_failure` loop.
 * @param {string} reason
 * @param {Record<string, unknown>} [extra] more detail fields
 * @returns {Fatal}
 */
export function needsAttention(reason, extra = {}) {
  return new Fatal(`needs attention: ${reason}`, {
    detail: { ...extra, needs_attention: true, reason: String(reason) },
  });
}

/** The host refused to run a program (WIT `exec-error`). */
export class ExecError extends Error {
  /**
   * @param {string} program
   * @param {string} kind `not-permitted`, `not-found`, `invalid-cwd`, `invalid-argument` or `spawn-failed`
   * @param {string} hostMessage the host's explanation
   */
  constructor(program, kind, hostMessage) {
    super(`cannot run ${program}: ${kind}: ${hostMessage}`);
    this.name = 'ExecError';
    /** The program that was asked for. */
    this.program = program;
    /** The WIT variant's name, e.g. `not-permitted`. */
    this.kind = kind;
    /** The host's explanation. */
    this.hostMessage = hostMessage;
  }
}

/** The host could not start an agent session (WIT `agent-error`). */
export class AgentError extends Error {
  /**
   * @param {string} kind `not-permitted`, `unknown-backend`, `budget-exhausted`, `spawn-failed` or `invalid-request`
   * @param {string} hostMessage the host's explanation
   */
  constructor(kind, hostMessage) {
    super(`cannot start the agent session: ${kind}: ${hostMessage}`);
    this.name = 'AgentError';
    /** The WIT variant's name, e.g. `unknown-backend`. */
    this.kind = kind;
    /** The host's explanation. */
    this.hostMessage = hostMessage;
  }
}

/**
 * The `{ tag, val }` error payload a WIT import threw (jco's `ComponentError` carries it in
 * `payload`), or `undefined` when `thrown` is not one.
 * @param {unknown} thrown
 * @returns {{ tag: string, val: unknown } | undefined}
 */
export function witErrorPayload(thrown) {
  const payload = thrown !== null && typeof thrown === 'object' ? thrown.payload : undefined;
  if (payload !== null && typeof payload === 'object' && typeof payload.tag === 'string') {
    return payload;
  }
  return undefined;
}

/** Stack frames of the SDK itself and of the generated bindings, dropped from detail. */
const SDK_FRAME = /(\.engine\/sdk\/js\/|sdk-js\/(core\/|engine-|testing|fake-host)|initializer\.js)/;

/**
 * The stack of an error without the SDK's own frames (the user's frames stay).
 * @param {unknown} stack
 * @returns {string}
 */
export function userStack(stack) {
  if (typeof stack !== 'string') {
    return '';
  }
  return stack
    .split('\n')
    .filter((line) => line.trim() !== '' && !SDK_FRAME.test(line))
    .join('\n');
}

/**
 * Detail as JSON text; a value JSON cannot represent (a cycle) becomes its string form.
 * @param {unknown} detail
 * @returns {string}
 */
function detailText(detail) {
  try {
    const text = stringify(detail === undefined ? {} : detail);
    return text === undefined ? '{}' : text;
  } catch (e) {
    return stringify({ detail: String(detail), unserializable: String(e && e.message) });
  }
}

/**
 * Anything a stage threw as the WIT `stage-error` variant. A {@link StageError} keeps its kind,
 * message and detail; any other Error becomes fatal with `Name: message` (e.g. `TypeError: x
 * is undefined`) and `{ error, stack }` as detail; any other value becomes fatal with its text.
 * @param {unknown} thrown
 * @returns {{ tag: 'retryable' | 'fatal', val: { message: string, detail: string } }}
 */
export function toWitStageError(thrown) {
  if (thrown instanceof StageError) {
    return {
      tag: thrown.retryable ? 'retryable' : 'fatal',
      val: { message: thrown.message, detail: detailText(thrown.detail) },
    };
  }
  if (thrown instanceof Error) {
    const detail = { error: thrown.name, stack: userStack(thrown.stack) };
    for (const key of ['kind', 'program', 'hostMessage']) {
      if (typeof thrown[key] === 'string') detail[key] = thrown[key];
    }
    if (thrown.cause !== undefined) {
      detail.cause = thrown.cause instanceof Error ? String(thrown.cause) : thrown.cause;
    }
    return { tag: 'fatal', val: { message: `${thrown.name}: ${thrown.message}`, detail: detailText(detail) } };
  }
  if (typeof thrown === 'string') {
    return { tag: 'fatal', val: { message: thrown, detail: '{}' } };
  }
  const text = isPlainObject(thrown) || Array.isArray(thrown) ? detailText(thrown) : describeValue(thrown);
  return {
    tag: 'fatal',
    val: { message: `the stage threw ${text}`, detail: detailText({ thrown: thrown ?? null }) },
  };
}
