// {{name}}: an engine stage in JavaScript. It lists the files this run changed (against the
// run's base commit) and fails when there are more than `max_files`.
//
// `defineStage` (the engine's JS SDK, in .engine/sdk/js/, written by `engine plugin build`)
// turns this description and `run` into the component's exports. Reference: the engine's
// docs/plugins/js.md.

import { Fatal, defineStage, exec, log } from './.engine/sdk/js/engine-stage.js';
import { changedFiles, tooMany } from './check.js';

export const { describe, run } = defineStage({
  name: '{{name}}',
  version: '0.1.0',
  summary: 'Fails when the run changed more than max_files files',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      max_files: { type: 'integer', minimum: 0, default: 20 },
    },
  },
  permissions: { workspace: 'read', exec: ['git'] },

  run(ctx) {
    const maxFiles = ctx.config.max_files;
    const base = ctx.git?.baseCommit;
    if (!base) {
      throw new Fatal('{{name}} needs a git repository as its workspace (the context has no base commit)');
    }
    const diff = exec.run('git', ['diff', '--name-only', '-z', base, '--'], { timeoutMs: 60_000 }).check();
    const files = changedFiles(diff.stdout);
    log.info(`${files.length} file(s) changed since ${base.slice(0, 10)}`);
    const problem = tooMany(files, maxFiles);
    if (problem) {
      throw new Fatal(problem, { detail: { files, max_files: maxFiles } });
    }
    return {
      summary: `${files.length} file(s) changed (at most ${maxFiles})`,
      outputs: { changed_files: files.length },
    };
  },
});
