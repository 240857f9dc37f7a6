// {{name}}: an engine task source in JavaScript. It lists the tasks of a text file in the
// repository (tasks.txt), one `- [ ] ID: title` per line.
//
// `defineSource` (the engine's JS SDK, in .engine/sdk/js/, written by `engine plugin build`)
// turns this description and `listTasks` into the component's exports. A JavaScript component
// has no file API, so the source reads the file with `cat` through `exec` (granted in the
// workflow's `tasks: permissions:`). Reference: the engine's docs/plugins/js.md.

import { SourceError, defineSource, exec } from './.engine/sdk/js/engine-source.js';
import { parseTasks } from './parse.js';

export const { describe, listTasks, claim, update } = defineSource({
  name: '{{name}}',
  version: '0.1.0',
  summary: 'Tasks from a text file, one `- [ ] ID: title` per line',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      path: { type: 'string', minLength: 1, default: 'tasks.txt' },
    },
  },
  // `listTasks` reads the repository (mounted read-only at /workspace) with `cat`.
  permissions: { workspace: 'read', exec: ['cat'] },

  listTasks(config) {
    const path = config.path.replace(/^(\.\/)+/, '');
    const out = exec.run('cat', ['--', path], { timeoutMs: 30_000 });
    if (!out.success) {
      throw SourceError.invalidConfig(`cannot read ${path}: ${out.stderr.trim() || out.statusText}`);
    }
    const { tasks, problems } = parseTasks(out.stdout, path);
    if (problems.length > 0) {
      throw SourceError.malformed(problems);
    }
    return tasks;
  },
  // No `claim` or `update`: the source is read-only (the SDK answers `unsupported`).
});
