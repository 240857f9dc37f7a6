// `log.info(...)` and friends, and `progress(...)`, over the WIT `log` interface.

import { stringify } from './json.js';

/**
 * One log message from console-like arguments: strings as they are, Errors as `Name: message`,
 * anything else as JSON (BigInt-safe).
 * @param {unknown[]} parts
 * @returns {string}
 */
export function formatMessage(parts) {
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part instanceof Error) return `${part.name}: ${part.message}`;
      try {
        const text = stringify(part);
        return text === undefined ? String(part) : text;
      } catch {
        return String(part);
      }
    })
    .join(' ');
}

/**
 * The logger and progress reporter over the host's `log` and `progress` functions.
 * @param {{ log: (level: string, message: string) => void, progress: (message: string, fraction?: number) => void }} host
 */
export function makeLog(host) {
  const at = (level) => (...parts) => host.log(level, formatMessage(parts));
  const log = Object.freeze({
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  });
  /**
   * Progress shown to the user while the stage runs.
   * @param {string} message
   * @param {number} [fraction] 0..1 when known (clamped)
   */
  function progress(message, fraction) {
    let f;
    if (typeof fraction === 'number' && Number.isFinite(fraction)) {
      f = Math.min(1, Math.max(0, fraction));
    }
    host.progress(String(message), f);
  }
  return { log, progress };
}
