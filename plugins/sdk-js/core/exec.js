// `exec.run(program, args, options)` over the WIT `exec` interface: numbers instead of BigInt,
// `null` for none, an `ExecOutput` with `success`, `statusText` and `check()`.

import { ExecError, Fatal, witErrorPayload } from './errors.js';
import { describeValue, isPlainObject, toU64, u64ToNumber } from './json.js';

/** How much of stdout/stderr `check()` puts in its error message. */
const CHECK_TAIL_CHARS = 2000;

/** How a program ended (the WIT `output` record, with Numbers for its u64 fields). */
export class ExecOutput {
  /**
   * @param {string} program
   * @param {string[]} args
   * @param {Record<string, unknown>} raw the WIT record
   */
  constructor(program, args, raw) {
    /** The program that ran. */
    this.program = program;
    /** Its arguments. */
    this.args = args;
    /** Exit code; `null` when a signal killed it. */
    this.exitCode = raw.exitCode ?? null;
    /** The signal that killed it, or `null`. */
    this.signal = raw.signal ?? null;
    /** True when the host killed it for running past its timeout. */
    this.timedOut = Boolean(raw.timedOut);
    /** The tail of stdout (lossy UTF-8). */
    this.stdout = raw.stdout ?? '';
    /** The tail of stderr (lossy UTF-8). */
    this.stderr = raw.stderr ?? '';
    /** Total bytes written to stdout, including what was dropped. */
    this.stdoutBytes = u64ToNumber(raw.stdoutBytes) ?? 0;
    /** Total bytes written to stderr, including what was dropped. */
    this.stderrBytes = u64ToNumber(raw.stderrBytes) ?? 0;
    /** Wall time in milliseconds. */
    this.durationMs = u64ToNumber(raw.durationMs) ?? 0;
  }

  /** True when the program exited with code 0 before its timeout. */
  get success() {
    return this.exitCode === 0 && !this.timedOut;
  }

  /** How it ended in words: `exit 0`, `exit 3`, `killed by signal 9`, `timed out`. */
  get statusText() {
    if (this.timedOut) return 'timed out';
    if (this.exitCode !== null) return `exit ${this.exitCode}`;
    if (this.signal !== null) return `killed by signal ${this.signal}`;
    return 'ended without an exit code';
  }

  /**
   * Returns this output when the program succeeded; otherwise throws a {@link Fatal} naming
   * the command, how it ended and the tail of its stderr (stdout when stderr is empty), with
   * both tails in the detail.
   * @param {string} [what] what the command was for, to start the message (default: the command line)
   * @returns {ExecOutput}
   */
  check(what) {
    if (this.success) return this;
    const tail = (this.stderr.trim() || this.stdout.trim()).slice(-CHECK_TAIL_CHARS);
    const head = what ?? [this.program, ...this.args].join(' ');
    throw new Fatal(`${head} failed (${this.statusText})${tail ? `: ${tail}` : ''}`, {
      detail: {
        program: this.program,
        args: this.args,
        exit_code: this.exitCode,
        signal: this.signal,
        timed_out: this.timedOut,
        stdout: this.stdout,
        stderr: this.stderr,
      },
    });
  }
}

/**
 * Checks the options of `exec.run` and builds the WIT `command` record.
 * @param {string} program
 * @param {unknown} args
 * @param {Record<string, unknown>} options
 */
export function commandRecord(program, args, options) {
  if (typeof program !== 'string' || program === '') {
    throw new TypeError(`exec.run: the program must be a non-empty string, got ${describeValue(program)}`);
  }
  if (!Array.isArray(args)) {
    throw new TypeError(`exec.run(${program}): args must be an array of strings, got ${describeValue(args)}`);
  }
  if (!isPlainObject(options)) {
    throw new TypeError(`exec.run(${program}): options must be an object, got ${describeValue(options)}`);
  }
  const known = new Set(['cwd', 'env', 'timeoutMs', 'outputCap']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new TypeError(`exec.run(${program}): unknown option "${key}" (known: cwd, env, timeoutMs, outputCap)`);
    }
  }
  const env = options.env ?? {};
  if (!isPlainObject(env)) {
    throw new TypeError(`exec.run(${program}): env must be an object of strings, got ${describeValue(env)}`);
  }
  return {
    program,
    args: args.map(String),
    cwd: options.cwd === undefined || options.cwd === null ? undefined : String(options.cwd),
    env: Object.entries(env).map(([k, v]) => [k, String(v)]),
    timeoutMs: toU64(options.timeoutMs, `exec.run(${program}): timeoutMs`),
    outputCap: toU64(options.outputCap, `exec.run(${program}): outputCap`),
  };
}

/**
 * `exec.run` over the host's `run` function.
 * @param {{ run: (command: object) => object }} host
 */
export function makeExec(host) {
  /**
   * Runs a granted program to completion (or its timeout). Throws {@link ExecError} when the
   * host refuses (not granted, not found, bad cwd...); a program that runs and fails is not an
   * error: look at `success` or call `check()`.
   * @param {string} program bare name, e.g. `git`
   * @param {string[]} [args]
   * @param {{ cwd?: string, env?: Record<string, string>, timeoutMs?: number, outputCap?: number }} [options]
   * @returns {ExecOutput}
   */
  function run(program, args = [], options = {}) {
    const command = commandRecord(program, args, options);
    let raw;
    try {
      raw = host.run(command);
    } catch (e) {
      const payload = witErrorPayload(e);
      if (payload) {
        throw new ExecError(program, payload.tag, String(payload.val));
      }
      throw e;
    }
    return new ExecOutput(program, command.args, raw);
  }
  return Object.freeze({ run });
}
