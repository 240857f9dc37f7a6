// Unit tests of the stage's pure helpers: `node --test` (or `npm test`) on this machine.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { changedFiles, tooMany } from '../check.js';

test('git output is split into paths', () => {
  assert.deepEqual(changedFiles('a.txt\0dir/b c.txt\0'), ['a.txt', 'dir/b c.txt']);
  assert.deepEqual(changedFiles(''), []);
});

test('a change is too big only past the limit, and the message names the files', () => {
  assert.equal(tooMany(['a', 'b'], 2), null);
  assert.equal(tooMany(['a', 'b', 'c'], 2), 'this run changed 3 files, more than 2: a, b, c');
  assert.equal(tooMany(['a'], 0), 'this run changed 1 file, more than 0: a');
  const many = ['1', '2', '3', '4', '5', '6', '7'];
  assert.equal(tooMany(many, 0), 'this run changed 7 files, more than 0: 1, 2, 3, 4, 5 and 2 more');
});
