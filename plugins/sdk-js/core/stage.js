// `defineStage(spec)`: the exported `describe` and `run` of world `engine:stage/stage`, built
// from a plain description and a `run(ctx)` function. The host's functions are passed in, so
// this module loads anywhere (the component, or node for tests).

import { checkKeys, configSchema, parseConfig, permissionsRecord, stringField } from './descriptor.js';
import { StageError, toWitStageError, userStack } from './errors.js';
import { describeValue, isPlainObject, parseLenient, stringify } from './json.js';

const SPEC_KEYS = ['name', 'version', 'summary', 'configSchema', 'permissions', 'delivery', 'run'];
const DELIVERY = { 'at-least-once': 'at-least-once', 'at-most-once': 'at-most-once' };
const RESULT_KEYS = ['summary', 'outputs'];

/**
 * The WIT `descriptor` of a stage spec; throws a TypeError naming the field on a mistake.
 * @param {Record<string, unknown>} spec
 * @returns {{ descriptor: object, defaults: Record<string, unknown> }}
 */
export function stageDescriptor(spec) {
  const where = 'defineStage';
  if (!isPlainObject(spec)) {
    throw new TypeError(`${where}: expected an object { name, version, summary, configSchema, permissions, delivery, run }, got ${describeValue(spec)}`);
  }
  checkKeys(where, spec, SPEC_KEYS);
  if (typeof spec.run !== 'function') {
    throw new TypeError(`${where}: "run" must be a function run(ctx), got ${describeValue(spec.run)}`);
  }
  const name = stringField(where, spec, 'name');
  const deliveryName = String(spec.delivery ?? 'at-least-once').replaceAll('_', '-');
  const delivery = DELIVERY[deliveryName];
  if (!delivery) {
    throw new TypeError(`${where}: "delivery" must be "at-least-once" or "at-most-once", got ${describeValue(spec.delivery)}`);
  }
  const schema = configSchema(where, spec.configSchema);
  return {
    descriptor: {
      name,
      version: stringField(where, spec, 'version', '0.1.0'),
      summary: stringField(where, spec, 'summary', name),
      configSchema: schema.text,
      permissions: permissionsRecord(where, spec.permissions),
      delivery,
    },
    defaults: schema.defaults,
  };
}

/**
 * The context a stage's `run` gets, from the WIT `context` record: JSON parsed (`config`,
 * `outputs` by stage id, `detail`s), `null` for an absent option.
 * @param {Record<string, any>} raw
 * @param {Record<string, unknown>} defaults the config schema's top-level defaults
 */
export function stageContext(raw, defaults = {}) {
  const failure = (f) => (f ? { message: f.message, detail: parseLenient(f.detail) } : null);
  const outputs = {};
  for (const entry of raw.outputs ?? []) {
    outputs[entry.stage] = parseLenient(entry.outputs);
  }
  return {
    runId: raw.runId,
    stageId: raw.stageId,
    attempt: Number(raw.attempt),
    keys: { stage: raw.keys.stage, attempt: raw.keys.attempt },
    task: {
      id: raw.task.id,
      title: raw.task.title,
      body: raw.task.body,
      labels: [...(raw.task.labels ?? [])],
    },
    config: parseConfig(raw.config, defaults),
    outputs,
    feedback: raw.feedback
      ? {
          fromStage: raw.feedback.fromStage,
          attempt: Number(raw.feedback.attempt),
          message: raw.feedback.message,
          detail: parseLenient(raw.feedback.detail),
        }
      : null,
    interrupted: Boolean(raw.interrupted),
    workspace: raw.workspace ?? null,
    previousFailure: failure(raw.previousFailure),
    git: raw.git
      ? {
          branch: raw.git.branch,
          baseBranch: raw.git.baseBranch,
          baseCommit: raw.git.baseCommit,
          repoRoot: raw.git.repoRoot,
        }
      : null,
    raw,
  };
}

/**
 * What `run` returned as the WIT `success` record: a string is the summary; an object has
 * `summary` (string) and `outputs` (a plain object, any JSON); nothing is an empty success.
 * @param {unknown} result
 * @returns {{ summary: string, outputs: string }}
 */
export function successRecord(result) {
  if (result === undefined || result === null) {
    return { summary: '', outputs: '{}' };
  }
  if (typeof result === 'string') {
    return { summary: result, outputs: '{}' };
  }
  if (!isPlainObject(result)) {
    throw new TypeError(`run returned ${describeValue(result)}; return a summary string or { summary, outputs }`);
  }
  const unknown = Object.keys(result).filter((k) => !RESULT_KEYS.includes(k));
  if (unknown.length > 0) {
    throw new TypeError(`run returned unknown field(s) ${unknown.join(', ')}; return { summary, outputs: { ${unknown.join(', ')} } } to pass them to later stages`);
  }
  const outputs = result.outputs ?? {};
  if (!isPlainObject(outputs)) {
    throw new TypeError(`run returned outputs that are ${describeValue(outputs)}; outputs must be a plain object`);
  }
  return { summary: result.summary === undefined ? '' : String(result.summary), outputs: stringify(outputs) };
}

/**
 * The exports of a stage component from its spec; `host` holds the host's `log` function
 * (to record a thrown error's stack in the attempt's log).
 * @param {Record<string, unknown>} spec
 * @param {{ log: (level: string, message: string) => void }} host
 * @returns {{ describe: () => object, run: (raw: object) => Promise<object> }}
 */
export function defineStageWith(spec, host) {
  const { descriptor, defaults } = stageDescriptor(spec);
  const userRun = spec.run;
  return {
    describe() {
      return structuredClone(descriptor);
    },
    async run(raw) {
      try {
        const ctx = stageContext(raw, defaults);
        return { tag: 'ok', val: successRecord(await userRun(ctx)) };
      } catch (thrown) {
        const error = toWitStageError(thrown);
        if (thrown instanceof Error && !(thrown instanceof StageError)) {
          try {
            host.log('debug', `${error.val.message}\n${userStack(thrown.stack)}`);
          } catch {
            // Logging is best effort; the failure itself is what matters.
          }
        }
        return { tag: 'err', val: error };
      }
    },
  };
}
