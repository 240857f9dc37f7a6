// Module resolution hooks installed by register.js: every `engine:stage/...` import is the
// fake host.

const FAKE_HOST = new URL('./fake-host.js', import.meta.url).href;

/**
 * Resolves `engine:stage/<interface>@<version>` to the fake host; everything else as usual.
 * @param {string} specifier
 * @param {object} context
 * @param {Function} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('engine:stage/')) {
    return { url: FAKE_HOST, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
