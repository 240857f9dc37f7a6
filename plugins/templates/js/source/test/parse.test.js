// Unit tests of the source's parser: `node --test` (or `npm test`) on this machine.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseTasks } from '../parse.js';

test('tasks are read line by line, with their status and location', () => {
  const { tasks, problems } = parseTasks('# tasks\n\n- [x] setup: Set up\n- [ ] hello: Say hello\n', 'tasks.txt');
  assert.deepEqual(problems, []);
  assert.deepEqual(tasks, [
    { id: 'setup', title: 'Set up', status: 'done', priority: 1, location: { file: 'tasks.txt', line: 3 } },
    { id: 'hello', title: 'Say hello', status: 'todo', priority: 1, location: { file: 'tasks.txt', line: 4 } },
  ]);
});

test('every malformed line is reported, located', () => {
  const { problems } = parseTasks('- [ ] a: A\nnot a task\n- [ ] no title\n- [ ] a: again\n', 'tasks.txt');
  assert.deepEqual(
    problems.map((p) => `${p.location.line}: ${p.message}`),
    [
      '2: expected `- [ ] ID: title` (or `- [x]` for a done task)',
      '3: expected `ID: title` after the box',
      '4: task a is listed twice',
    ],
  );
});
