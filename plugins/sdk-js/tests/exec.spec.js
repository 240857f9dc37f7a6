// exec.run through the fake host: the WIT command record it sends, the output it gives back,
// check(), host refusals, and realExec (programs run for real in a temporary directory).

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { fakeHost, hostRefusal, realExec, runStage } from '../testing.js';

// After testing.js, so that the SDK's WIT imports resolve to the fake host.
const { ExecError, Fatal, defineStage, exec } = await import('../engine-stage.js');

test('exec.run sends the WIT command record and gives Numbers back', () => {
  fakeHost.reset({
    exec: () => ({ exitCode: 0, stdout: 'a\nb\n', stdoutBytes: 4, durationMs: 12 }),
  });
  const out = exec.run('git', ['diff', '--name-only'], { cwd: 'sub', env: { A: 1 }, timeoutMs: 30000, outputCap: 1024 });
  assert.deepEqual(fakeHost.commands, [
    { program: 'git', args: ['diff', '--name-only'], cwd: 'sub', env: [['A', '1']], timeoutMs: 30000n, outputCap: 1024n },
  ]);
  assert.equal(out.success, true);
  assert.equal(out.statusText, 'exit 0');
  assert.equal(out.stdout, 'a\nb\n');
  assert.equal(out.stdoutBytes, 4);
  assert.equal(out.durationMs, 12);
  assert.equal(typeof out.durationMs, 'number', 'no BigInt reaches the stage');
  assert.equal(out.durationMs + 1, 13);
  assert.equal(out.check(), out);

  exec.run('true');
  assert.deepEqual(fakeHost.commands[1], { program: 'true', args: [], cwd: undefined, env: [], timeoutMs: undefined, outputCap: undefined });
});

test('check() of a failed program is a Fatal naming the command, its status and its stderr', () => {
  fakeHost.reset({ exec: () => ({ exitCode: 128, stderr: "fatal: bad revision 'x'\n" }) });
  const out = exec.run('git', ['diff', 'x']);
  assert.equal(out.success, false);
  assert.throws(
    () => out.check(),
    (e) => e instanceof Fatal && e.message === "git diff x failed (exit 128): fatal: bad revision 'x'" && e.detail.exit_code === 128,
  );
  assert.throws(() => out.check('listing the changes'), /^Fatal: listing the changes failed \(exit 128\)/);
  fakeHost.reset({ exec: () => ({ exitCode: null, timedOut: true }) });
  assert.equal(exec.run('sleep', ['9']).statusText, 'timed out');
  fakeHost.reset({ exec: () => ({ exitCode: null, signal: 9 }) });
  assert.equal(exec.run('sleep', ['9']).statusText, 'killed by signal 9');
});

test('a refusal of the host is an ExecError, and fails the stage with its words when not caught', async () => {
  fakeHost.reset({
    exec: (c) => {
      throw hostRefusal('not-permitted', `the workflow does not grant ${c.program} to this stage`);
    },
  });
  assert.throws(
    () => exec.run('curl'),
    (e) => e instanceof ExecError && e.kind === 'not-permitted' && e.program === 'curl',
  );
  const result = await runStage(defineStage({ name: 'x', run: () => exec.run('curl', ['x']) }).run);
  assert.equal(result.kind, 'fatal');
  assert.equal(result.message, 'ExecError: cannot run curl: not-permitted: the workflow does not grant curl to this stage');
  assert.equal(result.detail.kind, 'not-permitted');
});

test('bad arguments to exec.run are TypeErrors naming the option', () => {
  fakeHost.reset({ exec: () => ({}) });
  assert.throws(() => exec.run('git', 'status'), /args must be an array of strings, got a string "status"/);
  assert.throws(() => exec.run('git', [], { timeout: 5 }), /unknown option "timeout" \(known: cwd, env, timeoutMs, outputCap\)/);
  assert.throws(() => exec.run('git', [], { timeoutMs: -1 }), /timeoutMs must be a non-negative number/);
  assert.throws(() => exec.run('git', [], { env: [['A', 'b']] }), /env must be an object of strings/);
  assert.throws(() => exec.run(''), /the program must be a non-empty string/);
  exec.run('git', [], { timeoutMs: 1.6 });
  assert.equal(fakeHost.commands.at(-1).timeoutMs, 2n, 'a fractional timeout is rounded, not a RangeError');
});

test('realExec runs the program on the host in the workspace directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sdk-js-'));
  writeFileSync(join(dir, 'hello.txt'), 'hi\n');
  fakeHost.reset({ exec: realExec({ workspace: dir, allow: ['ls', 'cat', 'sh'] }) });
  assert.equal(exec.run('ls').check().stdout, 'hello.txt\n');
  assert.equal(exec.run('cat', ['hello.txt'], { cwd: '/workspace' }).stdout, 'hi\n');
  assert.equal(exec.run('sh', ['-c', 'exit 3']).exitCode, 3);
  assert.throws(() => exec.run('rm', ['hello.txt']), (e) => e instanceof ExecError && e.kind === 'not-permitted');
  assert.throws(() => exec.run('ls', [], { cwd: '../..' }), (e) => e instanceof ExecError && e.kind === 'invalid-cwd');
  fakeHost.reset({ exec: realExec({ workspace: dir }) });
  assert.throws(() => exec.run('no-such-program-here'), (e) => e instanceof ExecError && e.kind === 'not-found');
});

test('without an exec handler the fake host refuses every program', () => {
  fakeHost.reset();
  assert.throws(() => exec.run('git'), (e) => e instanceof ExecError && e.kind === 'not-permitted');
});
