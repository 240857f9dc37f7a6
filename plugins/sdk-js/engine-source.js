// The engine's JavaScript SDK for task sources (world `engine:stage/source`), used inside the
// component that `engine plugin build` makes with componentize-js:
//
//   import { defineSource, SourceError } from './.engine/sdk/js/engine-source.js';
//   export const { describe, listTasks, claim, update } = defineSource({ name: 'x', listTasks(config) { ... } });
//
// Reference: docs/plugins/js.md. Types: engine-source.d.ts. A task source imports `log` and
// `exec` only (no `agent`), so it must not import engine-stage.js.

import { log as hostLog, progress as hostProgress } from 'engine:stage/log@0.1.0';
import { run as hostRun } from 'engine:stage/exec@0.1.0';

import { makeExec } from './core/exec.js';
import { makeLog } from './core/log.js';
import { defineSourceWith } from './core/source.js';

export { ExecError, Fatal, Retryable, StageError } from './core/errors.js';
export { ExecOutput } from './core/exec.js';
export { SourceError } from './core/source.js';

const host = { log: hostLog, progress: hostProgress, run: hostRun };

/** `log.trace/debug/info/warn/error(...parts)` and `progress(message, fraction?)`. */
export const { log, progress } = makeLog(host);

/** `exec.run(program, args, { cwd, env, timeoutMs, outputCap })`. */
export const exec = makeExec(host);

/**
 * The component's exports from a task source's description and functions:
 * `export const { describe, listTasks, claim, update } = defineSource({ ... })`.
 * @param {object} spec
 */
export function defineSource(spec) {
  return defineSourceWith(spec, host);
}
