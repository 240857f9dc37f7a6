// `agent.start(request)` over the WIT `agent` interface: camelCase request with defaults,
// events and summaries with Numbers instead of BigInt.

import { AgentError, witErrorPayload } from './errors.js';
import { describeValue, isPlainObject } from './json.js';

/**
 * A copy of a value coming from the host with every BigInt (WIT u64) turned into a Number.
 * @param {unknown} value
 * @returns {unknown}
 */
export function numbersDeep(value) {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(numbersDeep);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = numbersDeep(v);
    return out;
  }
  return value;
}

const PERMISSION_MODES = ['default', 'accept-edits', 'plan', 'bypass'];
const REQUEST_KEYS = [
  'backend', 'model', 'prompt', 'systemPrompt', 'permissionMode', 'allowedTools',
  'deniedTools', 'maxTurns', 'resumeSession', 'budgetUsd',
];

/**
 * Checks a session request and fills its defaults (the WIT `session-request` record).
 * @param {Record<string, unknown>} request
 */
export function sessionRequest(request) {
  if (!isPlainObject(request)) {
    throw new TypeError(`agent.start: the request must be an object, got ${describeValue(request)}`);
  }
  for (const key of Object.keys(request)) {
    if (!REQUEST_KEYS.includes(key)) {
      throw new TypeError(`agent.start: unknown field "${key}" (known: ${REQUEST_KEYS.join(', ')})`);
    }
  }
  for (const key of ['backend', 'prompt']) {
    if (typeof request[key] !== 'string' || request[key] === '') {
      throw new TypeError(`agent.start: "${key}" must be a non-empty string, got ${describeValue(request[key])}`);
    }
  }
  const mode = request.permissionMode ?? 'default';
  if (!PERMISSION_MODES.includes(mode)) {
    throw new TypeError(`agent.start: permissionMode must be one of ${PERMISSION_MODES.join(', ')}, got ${describeValue(mode)}`);
  }
  const list = (key) => {
    const v = request[key] ?? [];
    if (!Array.isArray(v)) throw new TypeError(`agent.start: "${key}" must be an array of strings`);
    return v.map(String);
  };
  return {
    backend: request.backend,
    model: request.model ?? undefined,
    prompt: request.prompt,
    systemPrompt: request.systemPrompt ?? undefined,
    permissionMode: mode,
    allowedTools: list('allowedTools'),
    deniedTools: list('deniedTools'),
    maxTurns: request.maxTurns ?? undefined,
    resumeSession: request.resumeSession ?? undefined,
    budgetUsd: request.budgetUsd ?? undefined,
  };
}

/** A running (or finished) agent session. */
export class Session {
  /** @param {{ nextEvent(): unknown, cancel(): void, finish(): unknown }} raw the WIT resource */
  constructor(raw) {
    this.raw = raw;
  }

  /** The next event (`{ tag, val }`, Numbers for u64), waiting for it; `null` once it ended. */
  nextEvent() {
    const event = this.raw.nextEvent();
    return event === undefined || event === null ? null : numbersDeep(event);
  }

  /** Every remaining event, in order. */
  *events() {
    for (let event = this.nextEvent(); event !== null; event = this.nextEvent()) {
      yield event;
    }
  }

  /** Stops the session (kills the process group). */
  cancel() {
    this.raw.cancel();
  }

  /** Waits for the session to end and returns its summary (Numbers for u64 fields). */
  finish() {
    return numbersDeep(this.raw.finish());
  }
}

/**
 * `agent.start` over the host's `start` function.
 * @param {{ start: (request: object) => object }} host
 */
export function makeAgent(host) {
  /**
   * Starts a session; throws {@link AgentError} when the host refuses.
   * @param {Record<string, unknown>} request
   * @returns {Session}
   */
  function start(request) {
    const record = sessionRequest(request);
    try {
      return new Session(host.start(record));
    } catch (e) {
      const payload = witErrorPayload(e);
      if (payload) throw new AgentError(payload.tag, String(payload.val));
      throw e;
    }
  }
  return Object.freeze({ start });
}
