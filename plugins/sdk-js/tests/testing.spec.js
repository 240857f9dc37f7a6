// testing.js alone (no --import flag): importing it makes a stage module loadable in node with
// a dynamic import, against the fake host.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { fakeHost, runStage, witContext } from '../testing.js';

const { describe, run } = await import('./fixture-app.js');

test('a stage loads after testing.js and runs against the fake host', async () => {
  fakeHost.reset();
  assert.equal(describe().name, 'fixture');
  assert.deepEqual(await runStage(run), { ok: true, summary: 'fixture', outputs: {} });
  assert.deepEqual(fakeHost.messages('info'), ['hello']);
});

test('witContext builds the WIT record the engine sends', () => {
  const raw = witContext({ config: { a: 1 }, attempt: 2, git: { baseCommit: 'abc' }, previousFailure: { message: 'm' } });
  assert.equal(raw.config, '{"a":1}');
  assert.equal(raw.keys.attempt, '01TESTRUN/stage/2');
  assert.equal(raw.git.baseCommit, 'abc');
  assert.deepEqual(raw.previousFailure, { message: 'm', detail: '{}' });
  assert.equal(witContext().config, 'null');
  assert.equal(witContext().git, undefined);
});

test('node --import register.js lets a test import the stage statically', () => {
  const sdk = new URL('../engine-stage.js', import.meta.url).href;
  const result = spawnSync(
    process.execPath,
    ['--import', fileURLToPath(new URL('../register.js', import.meta.url)), '--input-type=module', '-e',
      `import { defineStage } from ${JSON.stringify(sdk)}; console.log(defineStage({ name: 'ok', run() {} }).describe().name);`],
    { encoding: 'utf8' },
  );
  assert.equal(result.stderr, '');
  assert.equal(result.stdout, 'ok\n');
  const without = spawnSync(process.execPath, ['--input-type=module', '-e', `import ${JSON.stringify(sdk)};`], { encoding: 'utf8' });
  assert.notEqual(without.status, 0, 'without the fake host the WIT imports do not resolve');
  assert.match(without.stderr, /engine:/);
});
