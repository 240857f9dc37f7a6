// The source's logic as a plain function: test/parse.test.js tests it on this machine with
// `node --test`, without the component or the engine.

/**
 * The tasks of a tasks file's text, one `- [ ] ID: title` (or `- [x]` once done) per line;
 * blank lines and `#` comments are skipped. Returns the tasks and every malformed line, located.
 * @param {string} text
 * @param {string} file the file's path, for locations
 */
export function parseTasks(text, file) {
  const tasks = [];
  const problems = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const location = { file, line: index + 1 };
    const box = /^- \[( |x)\] (.*)$/.exec(line);
    if (!box) {
      problems.push({ location, message: 'expected `- [ ] ID: title` (or `- [x]` for a done task)' });
      return;
    }
    const item = /^(\S+):\s*(.+)$/.exec(box[2]);
    if (!item) {
      problems.push({ location, message: 'expected `ID: title` after the box' });
      return;
    }
    const [, id, title] = item;
    if (tasks.some((t) => t.id === id)) {
      problems.push({ location, message: `task ${id} is listed twice` });
      return;
    }
    const status = box[1] === 'x' ? 'done' : 'todo';
    tasks.push({ id, title: title.trim(), status, priority: 1, location });
  });
  return { tasks, problems };
}
