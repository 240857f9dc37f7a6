// The stage's logic as plain functions: test/check.test.js tests them on this machine with
// `node --test`, without the component or the engine.

/**
 * The paths in `git diff --name-only -z` output (NUL separated).
 * @param {string} output
 * @returns {string[]}
 */
export function changedFiles(output) {
  return output.split('\0').filter((path) => path !== '');
}

/**
 * Why the change is too big (a message naming the first files), or `null` when it is not.
 * @param {string[]} files
 * @param {number} maxFiles
 * @returns {string | null}
 */
export function tooMany(files, maxFiles) {
  if (files.length <= maxFiles) {
    return null;
  }
  const shown = files.slice(0, 5).join(', ');
  const more = files.length > 5 ? ` and ${files.length - 5} more` : '';
  const noun = files.length === 1 ? 'file' : 'files';
  return `this run changed ${files.length} ${noun}, more than ${maxFiles}: ${shown}${more}`;
}
