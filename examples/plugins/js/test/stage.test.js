// The whole stage on the host, against the SDK's fake host with git run for real in a
// temporary repository: `node --test` (or `npm test`) after `engine plugin build` wrote
// .engine/ (the SDK), no component needed.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { fakeHost, realExec, runStage } from '../.engine/sdk/js/testing.js';

// After testing.js, so that the SDK's WIT imports resolve to the fake host.
const { describe, run } = await import('../app.js');

/** A git repository with CHANGELOG.md committed; returns its directory and commit. */
function repository() {
  const dir = mkdtempSync(join(tmpdir(), 'changelog-check-'));
  const git = (...args) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'CHANGELOG.md'), '# Changelog\n');
  writeFileSync(join(dir, 'README.md'), '# demo\n');
  git('add', '.');
  git('commit', '-q', '-m', 'initial');
  return { dir, base: git('rev-parse', 'HEAD').trim() };
}

test('it asks for read access and git', () => {
  assert.deepEqual(describe().permissions, { workspace: 'read', exec: ['git'], agent: false, net: [] });
});

test('a run that changed CHANGELOG.md passes', async () => {
  const { dir, base } = repository();
  writeFileSync(join(dir, 'CHANGELOG.md'), '# Changelog\n\n- Added a thing\n');
  fakeHost.reset({ exec: realExec({ workspace: dir, allow: ['git'] }) });
  const result = await runStage(run, { git: { baseCommit: base } });
  assert.deepEqual(result, { ok: true, summary: 'CHANGELOG.md changed', outputs: { file: 'CHANGELOG.md', changed_files: 1 } });
});

test('a run that did not change it fails, naming the file', async () => {
  const { dir, base } = repository();
  writeFileSync(join(dir, 'README.md'), '# demo, edited\n');
  fakeHost.reset({ exec: realExec({ workspace: dir, allow: ['git'] }) });
  const result = await runStage(run, { git: { baseCommit: base } });
  assert.equal(result.ok, false);
  assert.equal(result.kind, 'fatal');
  assert.match(result.message, /^CHANGELOG\.md was not changed in this run/);
  assert.deepEqual(result.detail.changed, ['README.md']);
});

test('the file comes from the config, and a new untracked file counts', async () => {
  const { dir, base } = repository();
  writeFileSync(join(dir, 'NEWS.md'), 'news\n');
  fakeHost.reset({ exec: realExec({ workspace: dir, allow: ['git'] }) });
  const result = await runStage(run, { config: { file: 'NEWS.md' }, git: { baseCommit: base } });
  assert.equal(result.summary, 'NEWS.md changed');
});
