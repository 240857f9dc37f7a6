// What `engine:stage/log`, `engine:stage/exec` and `engine:stage/agent` are on the host under
// register.js: functions with the WIT bindings' shapes that record what the stage did and
// answer from the handlers set in testing.js's `fakeHost`.

import { fakeHost } from './testing.js';

/** WIT `log.log(level, message)`: recorded in `fakeHost.logs`. */
export function log(level, message) {
  fakeHost.logs.push({ level, message });
}

/** WIT `log.progress(message, fraction)`: recorded in `fakeHost.progress`. */
export function progress(message, fraction) {
  fakeHost.progressReports.push({ message, fraction: fraction ?? null });
}

/** WIT `exec.run(command)`: recorded in `fakeHost.commands`, answered by `fakeHost.exec`. */
export function run(command) {
  fakeHost.commands.push(command);
  return fakeHost.answerExec(command);
}

/** WIT `agent.start(request)`: recorded in `fakeHost.sessions`, answered by `fakeHost.agent`. */
export function start(request) {
  fakeHost.sessions.push(request);
  return fakeHost.answerAgent(request);
}
