// The stage SDK on the host, through testing.js's fake host: what `describe` and `run`
// return to the engine for what a stage does. Run: `node --test tests/*.spec.js`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fakeHost, runStage, witContext } from '../testing.js';

// After testing.js, so that the SDK's WIT imports resolve to the fake host.
const { Fatal, Retryable, defineStage, log, needsAttention, progress } = await import('../engine-stage.js');

const minimal = (run) => defineStage({ name: 'x', run });

test('describe fills the defaults and sends the schema as JSON text', () => {
  const { describe } = defineStage({
    name: 'changelog-check',
    configSchema: { type: 'object', properties: { file: { type: 'string', default: 'CHANGELOG.md' } } },
    permissions: { workspace: 'read', exec: ['git'] },
    run() {},
  });
  assert.deepEqual(describe(), {
    name: 'changelog-check',
    version: '0.1.0',
    summary: 'changelog-check',
    configSchema: '{"type":"object","properties":{"file":{"type":"string","default":"CHANGELOG.md"}}}',
    permissions: { workspace: 'read', exec: ['git'], agent: false, net: [] },
    delivery: 'at-least-once',
  });
  const strict = defineStage({ name: 'y', delivery: 'at_most_once', configSchema: '{"type":"object"}', run() {} });
  assert.equal(strict.describe().delivery, 'at-most-once');
  assert.equal(strict.describe().configSchema, '{"type":"object"}');
});

test('a mistake in the spec is a TypeError naming the field', () => {
  const cases = [
    [{ name: 'x', run() {}, permission: {} }, /unknown field "permission" \(known: name, version/],
    [{ name: 'x', run() {}, permissions: { workspace: 'rw' } }, /permissions.workspace must be "none", "read" or "write", got a string "rw"/],
    [{ name: 'x', run() {}, permissions: { exec: 'git' } }, /permissions.exec must be an array of strings/],
    [{ name: 'x', run() {}, permissions: { agent: 'yes' } }, /permissions.agent must be true or false/],
    [{ name: 'x', run() {}, delivery: 'once' }, /"delivery" must be "at-least-once" or "at-most-once"/],
    [{ name: 'x', run() {}, configSchema: '{nope' }, /"configSchema" is not JSON/],
    [{ name: 'x', run() {}, configSchema: [] }, /"configSchema" must be a JSON Schema object, got an array/],
    [{ name: 'x' }, /"run" must be a function run\(ctx\), got undefined/],
    [{ run() {} }, /"name" must be a non-empty string, got undefined/],
    ['x', /expected an object/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(() => defineStage(spec), (e) => e instanceof TypeError && message.test(e.message), String(message));
  }
});

test('the context is parsed: config with schema defaults, outputs by stage, camelCase, null for none', async () => {
  let seen;
  const { run } = defineStage({
    name: 'x',
    configSchema: { properties: { file: { default: 'CHANGELOG.md' }, strict: { default: false } } },
    run(ctx) {
      seen = ctx;
    },
  });
  await runStage(run, {
    config: { strict: true },
    outputs: { build: { ok: true, n: 3 } },
    git: { baseCommit: 'abc123' },
    task: { title: 'Ship it', labels: ['a'] },
  });
  assert.deepEqual(seen.config, { strict: true, file: 'CHANGELOG.md' });
  assert.deepEqual(seen.outputs, { build: { ok: true, n: 3 } });
  assert.equal(seen.git.baseCommit, 'abc123');
  assert.equal(seen.git.baseBranch, 'main');
  assert.equal(seen.task.title, 'Ship it');
  assert.deepEqual(seen.task.labels, ['a']);
  assert.equal(seen.attempt, 1);
  assert.equal(seen.keys.attempt, '01TESTRUN/stage/1');
  assert.equal(seen.workspace, '/workspace');
  assert.equal(seen.feedback, null);
  assert.equal(seen.previousFailure, null);
  assert.equal(seen.interrupted, false);

  await runStage(run, { workspace: null, feedback: { fromStage: 'review', message: 'no', detail: { line: 3 } } });
  assert.deepEqual(seen.config, { file: 'CHANGELOG.md', strict: false }, 'no config: the defaults');
  assert.equal(seen.git, null);
  assert.equal(seen.workspace, null);
  assert.deepEqual(seen.feedback, { fromStage: 'review', attempt: 1, message: 'no', detail: { line: 3 } });
});

test('a config that is not JSON fails fatally', async () => {
  const { run } = minimal(() => 'ok');
  const raw = witContext();
  raw.config = '{broken';
  const result = await run(raw);
  assert.equal(result.tag, 'err');
  assert.equal(result.val.tag, 'fatal');
  assert.match(result.val.val.message, /^invalid config: /);
});

test('what run returns becomes the success record', async () => {
  assert.deepEqual(await runStage(minimal(() => 'all good').run), { ok: true, summary: 'all good', outputs: {} });
  assert.deepEqual(await runStage(minimal(() => undefined).run), { ok: true, summary: '', outputs: {} });
  assert.deepEqual(
    await runStage(minimal(async () => ({ summary: 'n', outputs: { bytes: 5n, big: 2n ** 60n } })).run),
    { ok: true, summary: 'n', outputs: { bytes: 5, big: '1152921504606846976' } },
  );
  const wrong = await runStage(minimal(() => ({ summary: 's', changed: true })).run);
  assert.equal(wrong.ok, false);
  assert.match(wrong.message, /unknown field\(s\) changed; return \{ summary, outputs: \{ changed \} \}/);
  const notObject = await runStage(minimal(() => ({ outputs: [1] })).run);
  assert.match(notObject.message, /outputs must be a plain object/);
});

test('any thrown Error is a fatal failure with its message and the stage\'s stack', async () => {
  fakeHost.reset();
  function inner(x) {
    return x.foo.bar;
  }
  const result = await runStage(minimal(() => inner({})).run);
  assert.equal(result.ok, false);
  assert.equal(result.kind, 'fatal');
  assert.match(result.message, /^TypeError: Cannot read properties of undefined \(reading 'bar'\)$/);
  assert.equal(result.detail.error, 'TypeError');
  assert.match(result.detail.stack, /inner/);
  assert.doesNotMatch(result.detail.stack, /core\/stage\.js/, 'the SDK\'s frames are dropped');
  assert.match(fakeHost.messages('debug')[0], /^TypeError: Cannot read properties/);

  const text = await runStage(minimal(() => {
    throw 'plain text';
  }).run);
  assert.deepEqual([text.kind, text.message], ['fatal', 'plain text']);
  const object = await runStage(minimal(() => {
    throw { code: 7 };
  }).run);
  assert.deepEqual([object.kind, object.message, object.detail], ['fatal', 'the stage threw {"code":7}', { thrown: { code: 7 } }]);
});

test('Fatal, Retryable and needsAttention keep their kind, message and detail', async () => {
  const fatal = await runStage(minimal(() => {
    throw new Fatal('CHANGELOG.md not changed', { detail: { file: 'CHANGELOG.md', size: 3n } });
  }).run);
  assert.deepEqual(fatal, { ok: false, kind: 'fatal', message: 'CHANGELOG.md not changed', detail: { file: 'CHANGELOG.md', size: 3 } });
  const retry = await runStage(minimal(async () => {
    throw new Retryable('registry down');
  }).run);
  assert.deepEqual(retry, { ok: false, kind: 'retryable', message: 'registry down', detail: {} });
  const attention = await runStage(minimal(() => {
    throw needsAttention('the task is already done', { pr: 12 });
  }).run);
  assert.deepEqual(attention, {
    ok: false,
    kind: 'fatal',
    message: 'needs attention: the task is already done',
    detail: { pr: 12, needs_attention: true, reason: 'the task is already done' },
  });
  const cyclic = {};
  cyclic.self = cyclic;
  const odd = await runStage(minimal(() => {
    throw new Fatal('odd detail', { detail: cyclic });
  }).run);
  assert.equal(odd.message, 'odd detail');
  assert.equal(odd.detail.detail, '[object Object]');
});

test('log and progress reach the host', async () => {
  fakeHost.reset();
  const { run } = minimal(() => {
    log.info('checking', { files: 2, bytes: 10n });
    log.warn(new RangeError('too far'));
    log.error('bad');
    log.debug('d');
    log.trace('t');
    progress('half way', 0.5);
    progress('over', 7);
    progress('unknown');
  });
  await runStage(run);
  assert.deepEqual(fakeHost.logs, [
    { level: 'info', message: 'checking {"files":2,"bytes":10}' },
    { level: 'warn', message: 'RangeError: too far' },
    { level: 'error', message: 'bad' },
    { level: 'debug', message: 'd' },
    { level: 'trace', message: 't' },
  ]);
  assert.deepEqual(fakeHost.progressReports, [
    { message: 'half way', fraction: 0.5 },
    { message: 'over', fraction: 1 },
    { message: 'unknown', fraction: null },
  ]);
});
