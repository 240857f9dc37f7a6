//! Child-process entry points of test binaries.
//!
//! Some tests need a second process of their own code: one to SIGKILL, one with another
//! `PATH`, several racing for a lock. Such a test starts its own test binary again on one
//! entry point: a `#[test] #[ignore = "..."]` function that does the child's work, reading its
//! instructions from an environment variable. Being ignored, the entry point never counts as a
//! passing test on its own; run by hand (`--ignored`) without its variable it fails, saying
//! what it is.
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! const ROLE: &str = "MY_TEST_CHILD_DIR";
//!
//! // The entry point (`#[test] #[ignore = "child of the_parent"]`):
//! let dir = engine_testkit::entry_point::input(ROLE)?;
//!
//! // The parent test:
//! let child = engine_testkit::entry_point::command(module_path!(), "the_child")?
//!     .env(ROLE, "/tmp/somewhere")
//!     .spawn()?;
//! # Ok(()) }
//! ```

use std::ffi::OsString;
use std::process::Command;

/// An entry point run without the variable its parent sets.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{variable}` is not set: this ignored test is the child-process half of another test and \
     only runs when that test starts it"
)]
pub struct NotStartedByItsTest {
    /// The variable the parent test sets.
    pub variable: String,
}

/// The instructions of an entry point: the value of `variable`, which the parent test sets.
pub fn input(variable: &str) -> Result<OsString, NotStartedByItsTest> {
    std::env::var_os(variable).ok_or_else(|| NotStartedByItsTest {
        variable: variable.to_string(),
    })
}

/// The name libtest gives `function` of the module at `module_path` (`module_path!()` of the
/// caller): the path without the crate's name (`supervise::the_child` in the test binary
/// `all`).
pub fn test_name(module_path: &str, function: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate, module)) => format!("{module}::{function}"),
        None => function.to_string(),
    }
}

/// This test binary, run on exactly the ignored entry point `function` of the module at
/// `module_path`, one test thread; add its variable (and any other libtest flag) before
/// spawning.
pub fn command(module_path: &str, function: &str) -> std::io::Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("--exact")
        .arg(test_name(module_path, function))
        .arg("--ignored")
        .arg("--test-threads=1");
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_drop_the_crate() {
        assert_eq!(
            test_name("all::supervise", "the_child"),
            "supervise::the_child"
        );
        assert_eq!(test_name("processes", "child_entry"), "child_entry");
        assert_eq!(test_name("all::a::b", "entry"), "a::b::entry");
    }

    #[test]
    fn an_entry_point_without_its_variable_says_what_it_is() {
        let err = input("ENGINE_TESTKIT_NEVER_SET").unwrap_err();
        assert_eq!(err.variable, "ENGINE_TESTKIT_NEVER_SET");
        assert!(
            err.to_string()
                .contains("child-process half of another test")
        );
    }
}
