// changelog-check: passes when this run's changes (against the run's base commit) include
// CHANGELOG.md (or the file in `with: { file: ... }`), fails naming the file otherwise.

import { Fatal, defineStage, exec, log } from './.engine/sdk/js/engine-stage.js';
import { changedFiles, changes } from './changelog.js';

export const { describe, run } = defineStage({
  name: 'changelog-check',
  version: '0.1.0',
  summary: "Fails unless the run's changes include CHANGELOG.md",
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      file: { type: 'string', default: 'CHANGELOG.md', description: 'the file that must change' },
    },
  },
  permissions: { workspace: 'read', exec: ['git'] },

  run(ctx) {
    const { file } = ctx.config;
    const base = ctx.git?.baseCommit;
    if (!base) {
      throw new Fatal('changelog-check needs a run in a git worktree (the context has no base commit)');
    }
    // Committed and uncommitted changes since the base, plus new files git does not track yet.
    const diff = exec.run('git', ['diff', '--name-only', '-z', base, '--'], { timeoutMs: 60_000 }).check();
    const untracked = exec.run('git', ['ls-files', '--others', '--exclude-standard', '-z'], { timeoutMs: 60_000 }).check();
    const files = changedFiles(diff.stdout, untracked.stdout);
    log.info(`${files.length} file(s) changed since ${base.slice(0, 10)}`);
    if (!changes(files, file)) {
      throw new Fatal(`${file} was not changed in this run: add an entry that describes the change`, {
        detail: { file, base, changed: files },
      });
    }
    return { summary: `${file} changed`, outputs: { file, changed_files: files.length } };
  },
});
