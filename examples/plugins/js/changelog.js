// The stage's logic as plain functions, tested on the host by test/changelog.test.js (no
// component, no engine needed).

/**
 * The paths of `git diff --name-only -z` and `git ls-files --others -z` output (NUL
 * separated), each once, in order.
 * @param {...string} outputs
 * @returns {string[]}
 */
export function changedFiles(...outputs) {
  const files = outputs.flatMap((out) => out.split('\0')).filter((path) => path !== '');
  return [...new Set(files)];
}

/**
 * A path as git prints it: relative to the repository root, `/` separated, no `./`.
 * @param {string} path
 * @returns {string}
 */
export function normalise(path) {
  return path.replaceAll('\\', '/').replace(/^(\.\/)+/, '').replace(/^\/workspace\//, '');
}

/**
 * Whether `file` is among the changed files.
 * @param {string[]} files
 * @param {string} file
 * @returns {boolean}
 */
export function changes(files, file) {
  const wanted = normalise(file);
  return files.some((changed) => normalise(changed) === wanted);
}
