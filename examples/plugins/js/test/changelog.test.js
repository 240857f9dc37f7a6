// Unit tests of the pure helpers: `node --test` (or `npm test`), no component needed.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { changedFiles, changes, normalise } from '../changelog.js';

test('changed files come from NUL-separated git output, each once', () => {
  assert.deepEqual(changedFiles('CHANGELOG.md\0src/a b.js\0', 'new.txt\0CHANGELOG.md\0'), [
    'CHANGELOG.md',
    'src/a b.js',
    'new.txt',
  ]);
  assert.deepEqual(changedFiles('', ''), []);
});

test('a configured file matches however it is written', () => {
  assert.equal(normalise('./docs/CHANGELOG.md'), 'docs/CHANGELOG.md');
  assert.equal(normalise('/workspace/CHANGELOG.md'), 'CHANGELOG.md');
  assert.equal(changes(['docs/CHANGELOG.md'], './docs/CHANGELOG.md'), true);
  assert.equal(changes(['CHANGELOG.md.bak', 'src/CHANGELOG.md'], 'CHANGELOG.md'), false);
});
