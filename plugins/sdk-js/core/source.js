// `defineSource(spec)`: the exported `describe`, `listTasks`, `claim` and `update` of world
// `engine:stage/source`, from a plain description and functions that take the parsed config.

import { checkKeys, configSchema, parseConfig, permissionsRecord, stringField } from './descriptor.js';
import { Fatal, StageError, userStack } from './errors.js';
import { describeValue, isPlainObject } from './json.js';

const SPEC_KEYS = ['name', 'version', 'summary', 'configSchema', 'permissions', 'listTasks', 'claim', 'update'];
const STATUSES = ['todo', 'in-progress', 'done', 'blocked'];
const KINDS = ['invalid-config', 'malformed', 'not-found', 'conflict', 'unsupported', 'unavailable', 'failed'];
const TASK_KEYS = [
  'id', 'title', 'body', 'status', 'rawStatus', 'priority', 'labels', 'dependsOn', 'milestone',
  'estimate', 'checklist', 'traces', 'location',
];

/**
 * A failed call of a task source (WIT `source-error`): `kind` is the variant, `message` its
 * text; a `malformed` error carries its `diagnostics` (`{ message, location? }`).
 */
export class SourceError extends Error {
  /**
   * @param {string} kind `invalid-config`, `malformed`, `not-found`, `conflict`, `unsupported`, `unavailable` or `failed`
   * @param {string} message
   * @param {{ message: string, location?: { file: string, line?: number } }[]} [diagnostics] for `malformed`
   */
  constructor(kind, message, diagnostics = []) {
    if (!KINDS.includes(kind)) {
      throw new TypeError(`SourceError: kind must be one of ${KINDS.join(', ')}, got ${describeValue(kind)}`);
    }
    super(String(message));
    this.name = 'SourceError';
    /** The WIT variant's name. */
    this.kind = kind;
    /** The located problems of a `malformed` error. */
    this.diagnostics = diagnostics;
  }

  /** No task has this id. @param {string} message */
  static notFound(message) {
    return new SourceError('not-found', message);
  }

  /** The task's state does not allow the change. @param {string} message */
  static conflict(message) {
    return new SourceError('conflict', message);
  }

  /** The source cannot do this. @param {string} message */
  static unsupported(message) {
    return new SourceError('unsupported', message);
  }

  /** A temporary failure: trying again may succeed. @param {string} message */
  static unavailable(message) {
    return new SourceError('unavailable', message);
  }

  /** The config does not fit the source. @param {string} message */
  static invalidConfig(message) {
    return new SourceError('invalid-config', message);
  }

  /**
   * The source's data is malformed: every problem, located.
   * @param {{ message: string, location?: { file: string, line?: number } }[]} diagnostics
   */
  static malformed(diagnostics) {
    return new SourceError('malformed', diagnostics.map((d) => d.message).join('; '), diagnostics);
  }
}

/** The WIT `location` record, or `undefined`. */
function locationRecord(location) {
  if (location === undefined || location === null) return undefined;
  if (typeof location === 'string') return { file: location, line: undefined };
  return { file: String(location.file), line: location.line ?? undefined };
}

/** The WIT `diagnostic` record. */
function diagnosticRecord(d) {
  if (typeof d === 'string') return { location: undefined, message: d };
  return { location: locationRecord(d.location), message: String(d.message) };
}

/**
 * A task as the WIT `task` record, with defaults: `body` '', `status` 'todo', `rawStatus` the
 * status, `priority` 0, empty lists, no milestone/estimate/location. Checklist items may be
 * strings (not done) or `{ text, done }`.
 * @param {Record<string, any>} task
 */
export function taskRecord(task) {
  if (!isPlainObject(task)) {
    throw new TypeError(`a task must be an object { id, title, ... }, got ${describeValue(task)}`);
  }
  const where = `task ${JSON.stringify(task.id ?? '?')}`;
  checkKeys(where, task, TASK_KEYS);
  const id = stringField(where, task, 'id');
  const status = task.status ?? 'todo';
  if (!STATUSES.includes(status)) {
    throw new TypeError(`${where}: status must be one of ${STATUSES.join(', ')}, got ${describeValue(status)}`);
  }
  const priority = task.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 255) {
    throw new TypeError(`${where}: priority must be an integer 0..255 (0 the highest), got ${describeValue(priority)}`);
  }
  const strings = (key) => (task[key] ?? []).map(String);
  return {
    id,
    title: stringField(where, task, 'title'),
    body: String(task.body ?? ''),
    status,
    rawStatus: String(task.rawStatus ?? status),
    priority,
    labels: strings('labels'),
    dependsOn: strings('dependsOn'),
    milestone: task.milestone ?? undefined,
    estimate: task.estimate ?? undefined,
    checklist: (task.checklist ?? []).map((item) =>
      typeof item === 'string' ? { text: item, done: false } : { text: String(item.text), done: Boolean(item.done) },
    ),
    traces: strings('traces'),
    location: locationRecord(task.location),
  };
}

/**
 * Anything a source function threw as the WIT `source-error` variant: a {@link SourceError}
 * keeps its kind; a retryable StageError is `unavailable`; anything else is `failed` with
 * `Name: message`.
 * @param {unknown} thrown
 */
export function toWitSourceError(thrown) {
  if (thrown instanceof SourceError) {
    if (thrown.kind === 'malformed') {
      return { tag: 'malformed', val: thrown.diagnostics.map(diagnosticRecord) };
    }
    return { tag: thrown.kind, val: thrown.message };
  }
  if (thrown instanceof StageError) {
    return { tag: thrown.retryable ? 'unavailable' : 'failed', val: thrown.message };
  }
  if (thrown instanceof Error) {
    return { tag: 'failed', val: `${thrown.name}: ${thrown.message}` };
  }
  return { tag: 'failed', val: typeof thrown === 'string' ? thrown : `the source threw ${describeValue(thrown)}` };
}

/**
 * The exports of a task source component from its spec.
 * @param {Record<string, any>} spec
 * @param {{ log: (level: string, message: string) => void }} host
 */
export function defineSourceWith(spec, host) {
  const where = 'defineSource';
  if (!isPlainObject(spec)) {
    throw new TypeError(`${where}: expected an object { name, version, summary, configSchema, permissions, listTasks, claim?, update? }, got ${describeValue(spec)}`);
  }
  checkKeys(where, spec, SPEC_KEYS);
  for (const key of ['listTasks', 'claim', 'update']) {
    if (spec[key] !== undefined && typeof spec[key] !== 'function') {
      throw new TypeError(`${where}: "${key}" must be a function, got ${describeValue(spec[key])}`);
    }
  }
  if (typeof spec.listTasks !== 'function') {
    throw new TypeError(`${where}: "listTasks" must be a function listTasks(config), got ${describeValue(spec.listTasks)}`);
  }
  const name = stringField(where, spec, 'name');
  const schema = configSchema(where, spec.configSchema);
  const descriptor = {
    name,
    version: stringField(where, spec, 'version', '0.1.0'),
    summary: stringField(where, spec, 'summary', name),
    configSchema: schema.text,
    permissions: permissionsRecord(where, spec.permissions),
  };
  const config = (text) => {
    try {
      return parseConfig(text, schema.defaults);
    } catch (e) {
      throw e instanceof Fatal ? SourceError.invalidConfig(e.message) : e;
    }
  };
  const call = async (body) => {
    try {
      return { tag: 'ok', val: await body() };
    } catch (thrown) {
      if (thrown instanceof Error && !(thrown instanceof SourceError) && !(thrown instanceof StageError)) {
        try {
          host.log('debug', `${thrown.name}: ${thrown.message}\n${userStack(thrown.stack)}`);
        } catch {
          // Best effort.
        }
      }
      return { tag: 'err', val: toWitSourceError(thrown) };
    }
  };
  const readOnly = (what, id) => SourceError.unsupported(`this task source cannot ${what} ${id}: it is read-only`);
  return {
    describe() {
      return structuredClone(descriptor);
    },
    listTasks(text) {
      return call(async () => {
        const listed = await spec.listTasks(config(text));
        const { tasks, warnings } = Array.isArray(listed) ? { tasks: listed, warnings: [] } : listed ?? {};
        if (!Array.isArray(tasks)) {
          throw new TypeError(`listTasks returned ${describeValue(listed)}; return an array of tasks or { tasks, warnings }`);
        }
        return { tasks: tasks.map(taskRecord), warnings: (warnings ?? []).map(diagnosticRecord) };
      });
    },
    claim(text, id, claimant) {
      return call(async () => {
        if (!spec.claim) throw readOnly('claim', id);
        return taskRecord(await spec.claim(config(text), id, claimant));
      });
    },
    update(text, id, status, note) {
      return call(async () => {
        if (!spec.update) throw readOnly('update', id);
        return taskRecord(await spec.update(config(text), id, status, note ?? null));
      });
    },
  };
}
