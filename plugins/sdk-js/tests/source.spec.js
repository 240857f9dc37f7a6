// The task source SDK through the fake host: describe, listTasks with task defaults, claim and
// update (present or not), and errors as the WIT source-error variant.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { callSource } from '../testing.js';

// After testing.js, so that the SDK's WIT imports resolve to the fake host.
const { SourceError, defineSource } = await import('../engine-source.js');

const source = defineSource({
  name: 'lines',
  configSchema: { properties: { prefix: { type: 'string', default: 'T' } } },
  permissions: { workspace: 'read', exec: ['cat'] },
  listTasks(config) {
    return {
      tasks: [
        { id: `${config.prefix}-1`, title: 'First', checklist: ['a', { text: 'b', done: true }], location: { file: 'tasks.txt', line: 1 } },
        { id: `${config.prefix}-2`, title: 'Second', status: 'done', priority: 3, dependsOn: [`${config.prefix}-1`] },
      ],
      warnings: ['odd line 3'],
    };
  },
  claim(config, id, claimant) {
    if (id === 'gone') throw SourceError.notFound(`no task ${id}`);
    return { id, title: `claimed by ${claimant}`, status: 'in-progress' };
  },
});

test('describe and listTasks fill the WIT records with defaults', async () => {
  assert.deepEqual(source.describe().permissions, { workspace: 'read', exec: ['cat'], agent: false, net: [] });
  const listed = await callSource(source.listTasks);
  assert.equal(listed.ok, true);
  assert.deepEqual(listed.value.tasks[0], {
    id: 'T-1',
    title: 'First',
    body: '',
    status: 'todo',
    rawStatus: 'todo',
    priority: 0,
    labels: [],
    dependsOn: [],
    milestone: undefined,
    estimate: undefined,
    checklist: [{ text: 'a', done: false }, { text: 'b', done: true }],
    traces: [],
    location: { file: 'tasks.txt', line: 1 },
  });
  assert.deepEqual(listed.value.tasks[1].dependsOn, ['T-1']);
  assert.deepEqual(listed.value.warnings, [{ location: undefined, message: 'odd line 3' }]);
  const other = await callSource(source.listTasks, { prefix: 'X' });
  assert.equal(other.value.tasks[0].id, 'X-1');
});

test('claim answers, update is unsupported when absent, errors keep their kind', async () => {
  const claimed = await callSource(source.claim, {}, 'T-1', 'run-1');
  assert.equal(claimed.value.title, 'claimed by run-1');
  assert.equal(claimed.value.status, 'in-progress');
  assert.deepEqual(await callSource(source.claim, {}, 'gone', 'r'), { ok: false, kind: 'not-found', message: 'no task gone', diagnostics: [] });
  const update = await callSource(source.update, {}, 'T-1', 'done', undefined);
  assert.deepEqual([update.kind, update.message], ['unsupported', 'this task source cannot update T-1: it is read-only']);
});

test('a malformed source lists every located problem; any other error is failed with its message', async () => {
  const broken = defineSource({
    name: 'broken',
    listTasks(config) {
      if (config.mode === 'bug') return config.nothing.length;
      throw SourceError.malformed([{ message: 'no title', location: { file: 'tasks.txt', line: 4 } }, 'no id']);
    },
  });
  const malformed = await callSource(broken.listTasks, {});
  assert.equal(malformed.kind, 'malformed');
  assert.deepEqual(malformed.diagnostics, [
    { location: { file: 'tasks.txt', line: 4 }, message: 'no title' },
    { location: undefined, message: 'no id' },
  ]);
  const bug = await callSource(broken.listTasks, { mode: 'bug' });
  assert.deepEqual([bug.kind, bug.message], ['failed', "TypeError: Cannot read properties of undefined (reading 'length')"]);
  const badTask = defineSource({ name: 'b', listTasks: () => [{ id: 'x', title: 't', priority: 300 }] });
  assert.match((await callSource(badTask.listTasks)).message, /task "x": priority must be an integer 0\.\.255/);
  const notJson = await broken.listTasks('{nope');
  assert.equal(notJson.val.tag, 'invalid-config');
});

test('a mistake in the spec is a TypeError naming the field', () => {
  assert.throws(() => defineSource({ name: 'x' }), /"listTasks" must be a function listTasks\(config\)/);
  assert.throws(() => defineSource({ name: 'x', listTasks() {}, list() {} }), /unknown field "list"/);
  assert.throws(() => new SourceError('oops', 'm'), /kind must be one of invalid-config/);
});
