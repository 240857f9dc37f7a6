// JSON helpers shared by the SDK: the host exchanges JSON as text (config, outputs, detail,
// config-schema), and WIT `u64` values arrive as BigInt, which JSON.stringify refuses.

/**
 * A BigInt as a Number when it fits exactly, else as its decimal string.
 * @param {bigint} value
 * @returns {number | string}
 */
export function bigintToJson(value) {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value.toString();
}

/**
 * JSON.stringify that accepts BigInt values (see {@link bigintToJson}).
 * @param {unknown} value
 * @returns {string}
 */
export function stringify(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? bigintToJson(v) : v));
}

/**
 * Parses JSON text leniently, as the Rust SDK does: empty text is `null`, text that is not
 * JSON is kept as the string itself.
 * @param {string | undefined | null} text
 * @returns {unknown}
 */
export function parseLenient(text) {
  if (text === undefined || text === null || String(text).trim() === '') {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return String(text);
  }
}

/**
 * A WIT `u64` (BigInt) as a Number; `undefined`/`null` stay `null`. Values past 2^53 lose
 * precision, which no size, count or duration the host reports reaches.
 * @param {bigint | number | undefined | null} value
 * @returns {number | null}
 */
export function u64ToNumber(value) {
  if (value === undefined || value === null) {
    return null;
  }
  return Number(value);
}

/**
 * A Number (or BigInt) given by the user for a WIT `u64`, checked: a non-negative integer.
 * `undefined`/`null` stay `undefined` (the option's `none`).
 * @param {unknown} value
 * @param {string} what the field, for the error message
 * @returns {bigint | undefined}
 */
export function toU64(value, what) {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'bigint' && value >= 0n) {
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    return BigInt(Math.round(value));
  }
  throw new TypeError(`${what} must be a non-negative number, got ${describeValue(value)}`);
}

/**
 * A short description of a value for error messages (`a string "x"`, `undefined`...).
 * @param {unknown} value
 * @returns {string}
 */
export function describeValue(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `a string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
    case 'undefined':
      return 'undefined';
    case 'object':
      return 'an object';
    default:
      return `${typeof value} ${String(value)}`;
  }
}

/**
 * Whether `value` is a plain object (`{...}`), not an array, null or a class instance.
 * @param {unknown} value
 * @returns {boolean}
 */
export function isPlainObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
