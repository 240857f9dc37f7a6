// The parts of a plugin's description shared by stages and task sources: name, version,
// summary, config schema (an object, sent as JSON text) and permissions, checked when the
// module loads so that a mistake fails `engine plugin build` with a clear message.

import { describeValue, isPlainObject, parseLenient, stringify } from './json.js';
import { Fatal } from './errors.js';

const WORKSPACE = ['none', 'read', 'write'];
const PERMISSION_KEYS = ['workspace', 'exec', 'agent', 'net'];

/**
 * Throws a TypeError naming the function and the keys it knows when `object` has another key.
 * @param {string} where e.g. `defineStage`
 * @param {Record<string, unknown>} object
 * @param {string[]} known
 */
export function checkKeys(where, object, known) {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) {
      throw new TypeError(`${where}: unknown field "${key}" (known: ${known.join(', ')})`);
    }
  }
}

/**
 * A required non-empty string field.
 * @param {string} where
 * @param {Record<string, unknown>} spec
 * @param {string} key
 * @param {string} [fallback] used when the field is absent
 * @returns {string}
 */
export function stringField(where, spec, key, fallback) {
  const value = spec[key] ?? fallback;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${where}: "${key}" must be a non-empty string, got ${describeValue(spec[key])}`);
  }
  return value;
}

/**
 * The WIT `permissions` record from `{ workspace, exec, agent, net }` (all optional: `none`,
 * no programs, no agent, no hosts).
 * @param {string} where
 * @param {unknown} permissions
 */
export function permissionsRecord(where, permissions) {
  const p = permissions ?? {};
  if (!isPlainObject(p)) {
    throw new TypeError(`${where}: "permissions" must be an object, got ${describeValue(permissions)}`);
  }
  checkKeys(`${where}: permissions`, p, PERMISSION_KEYS);
  const workspace = p.workspace ?? 'none';
  if (!WORKSPACE.includes(workspace)) {
    throw new TypeError(`${where}: permissions.workspace must be "none", "read" or "write", got ${describeValue(workspace)}`);
  }
  const strings = (key) => {
    const v = p[key] ?? [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
      throw new TypeError(`${where}: permissions.${key} must be an array of strings, got ${describeValue(v)}`);
    }
    return [...v];
  };
  const agent = p.agent ?? false;
  if (typeof agent !== 'boolean') {
    throw new TypeError(`${where}: permissions.agent must be true or false, got ${describeValue(agent)}`);
  }
  return { workspace, exec: strings('exec'), agent, net: strings('net') };
}

/**
 * The config schema as JSON text (an object is serialized; text must be JSON), and the
 * top-level defaults it declares (`properties.<key>.default`).
 * @param {string} where
 * @param {unknown} schema
 * @returns {{ text: string, defaults: Record<string, unknown> }}
 */
export function configSchema(where, schema) {
  let object = schema ?? {};
  if (typeof object === 'string') {
    try {
      object = JSON.parse(object);
    } catch (e) {
      throw new TypeError(`${where}: "configSchema" is not JSON: ${e.message}`);
    }
  }
  if (!isPlainObject(object)) {
    throw new TypeError(`${where}: "configSchema" must be a JSON Schema object, got ${describeValue(schema)}`);
  }
  const defaults = {};
  if (isPlainObject(object.properties)) {
    for (const [key, property] of Object.entries(object.properties)) {
      if (isPlainObject(property) && 'default' in property) {
        defaults[key] = property.default;
      }
    }
  }
  return { text: stringify(object), defaults };
}

/**
 * The `with:` config as a value: JSON text parsed, `{}` when there is none, the schema's
 * top-level defaults filled in for missing keys of an object. Text that is not JSON is a
 * {@link Fatal} error.
 * @param {string | undefined} text
 * @param {Record<string, unknown>} defaults
 * @returns {unknown}
 */
export function parseConfig(text, defaults) {
  let config = {};
  if (text !== undefined && text !== null && String(text).trim() !== '') {
    try {
      config = JSON.parse(text);
    } catch (e) {
      throw new Fatal(`invalid config: ${e.message}`, { detail: { config: String(text) } });
    }
  }
  if (config === null) {
    config = {};
  }
  if (isPlainObject(config)) {
    for (const [key, value] of Object.entries(defaults)) {
      if (!(key in config)) {
        config[key] = structuredClone(value);
      }
    }
  }
  return config;
}

export { parseLenient };
