// The engine's JavaScript SDK for stages (world `engine:stage/stage`), used inside the
// component that `engine plugin build` makes with componentize-js:
//
//   import { defineStage, log, exec, Fatal } from './.engine/sdk/js/engine-stage.js';
//   export const { describe, run } = defineStage({ name: 'x', run(ctx) { ... } });
//
// Reference: docs/plugins/js.md. Types: engine-stage.d.ts. On the host (node --test), load
// it through `node --import ./.engine/sdk/js/register.js` (a fake host, see testing.js).

import { log as hostLog, progress as hostProgress } from 'engine:stage/log@0.1.0';
import { run as hostRun } from 'engine:stage/exec@0.1.0';
import { start as hostStart } from 'engine:stage/agent@0.1.0';

import { makeAgent } from './core/agent.js';
import { makeExec } from './core/exec.js';
import { makeLog } from './core/log.js';
import { defineStageWith } from './core/stage.js';

export { AgentError, ExecError, Fatal, Retryable, StageError, needsAttention } from './core/errors.js';
export { ExecOutput } from './core/exec.js';
export { Session } from './core/agent.js';

const host = { log: hostLog, progress: hostProgress, run: hostRun, start: hostStart };

/** `log.trace/debug/info/warn/error(...parts)` and `progress(message, fraction?)`. */
export const { log, progress } = makeLog(host);

/** `exec.run(program, args, { cwd, env, timeoutMs, outputCap })`. */
export const exec = makeExec(host);

/** `agent.start({ backend, prompt, ... })`. */
export const agent = makeAgent(host);

/**
 * The component's exports from a stage's description and its `run(ctx)`:
 * `export const { describe, run } = defineStage({ ... })`.
 * @param {object} spec
 */
export function defineStage(spec) {
  return defineStageWith(spec, host);
}
