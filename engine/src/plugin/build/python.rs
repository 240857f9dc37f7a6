//! The python recipe of `engine plugin build`: componentize-py turns the project's `app.py`
//! (with the SDK `engine_stage` from `.engine/sdk/python`) into a component of the project's
//! world.
//!
//! componentize-py 0.25.1 is installed on first use into `<tools>/componentize-py-0.25.1/`: a
//! virtual environment made by `python3 -m venv` (Python 3.9 or newer), into which its pip
//! installs `componentize-py==0.25.1` from `PyPI`. The tool is run through the environment's
//! interpreter (`bin/python -c ...`) rather than its `bin/componentize-py` script, whose
//! `#!` line names the temporary directory the install was made in.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{BuildError, Kind, Recipe};
use crate::plugin::toolchain::{install_once, progress, run_tool};

/// The pinned componentize-py version.
const VERSION: &str = "0.25.1";
/// Its directory under the tools directory.
const TOOL_DIR: &str = "componentize-py-0.25.1";
/// Its name in messages.
const LABEL: &str = "componentize-py 0.25.1";
/// The oldest Python componentize-py 0.25.1 installs on (its wheels are `cp39-abi3`).
const MIN_PYTHON: (u32, u32) = (3, 9);
/// Runs componentize-py's entry point with the arguments that follow `-c CODE`; a failure
/// prints its message (a Python traceback from the app's import, a WIT mismatch) without the
/// Python traceback of this launcher.
const LAUNCH: &str = "import sys\n\
                      from componentize_py import script\n\
                      sys.argv[0] = 'componentize-py'\n\
                      try:\n    sys.exit(script())\n\
                      except Exception as e:\n    sys.exit(str(e))\n";

/// Builds the project into `recipe.output`.
pub(super) fn build(recipe: &Recipe<'_>) -> Result<(), BuildError> {
    if !recipe.project.join("app.py").is_file() {
        return Err(BuildError::Project(format!(
            "{} has no app.py: a Python plugin's entry point is app.py, ending with \
             `WitWorld = export(YourStage)` (`engine plugin new NAME --lang python` makes one)",
            recipe.project.display()
        )));
    }
    // componentize-py runs in the project: every path it gets must not depend on the cwd.
    let project = absolute(recipe.project)?;
    let output = absolute(recipe.output)?;
    let engine_dir = absolute(recipe.engine_dir)?;
    let wit = engine_dir.join("wit");
    let sdk = engine_dir.join("sdk").join("python");
    for needed in [&wit, &sdk] {
        if !needed.is_dir() {
            return Err(BuildError::Project(format!(
                "{} is missing: it holds this engine's WIT and Python SDK",
                needed.display()
            )));
        }
    }
    let tool = install_once(recipe.tools_dir, TOOL_DIR, LABEL, |staging| {
        install(OsStr::new("python3"), staging)
    })?;
    let tool = absolute(&tool)?;
    let python = venv_python(&tool);
    if !python.exists() {
        return Err(BuildError::ToolInstall {
            tool: LABEL.into(),
            message: format!(
                "{} no longer runs (was the Python it was made with removed or upgraded?); \
                 delete {} and build again to reinstall it",
                python.display(),
                tool.display()
            ),
        });
    }
    let shown = recipe
        .output
        .strip_prefix(recipe.project)
        .unwrap_or(recipe.output);
    progress(&format!("componentize-py: building {}...", shown.display()));
    let paths = Paths {
        project: &project,
        wit: &wit,
        sdk: &sdk,
        output: &output,
        tool: &tool,
    };
    run_tool(
        &mut componentize_command(&python, recipe.kind, &paths),
        "componentize-py",
    )?;
    Ok(())
}

/// The absolute paths componentize-py is given.
struct Paths<'a> {
    /// The project (the first directory of the Python path, and the working directory).
    project: &'a Path,
    /// This engine's WIT files.
    wit: &'a Path,
    /// The Python SDK (the second directory of the Python path).
    sdk: &'a Path,
    /// The component to write.
    output: &'a Path,
    /// componentize-py's virtual environment.
    tool: &'a Path,
}

/// `path` made absolute against the current directory.
fn absolute(path: &Path) -> Result<PathBuf, BuildError> {
    std::path::absolute(path).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `python -c LAUNCH -d WIT -w WORLD componentize app -p PROJECT -p SDK -o OUTPUT`, run in the
/// project. The project comes first on the Python path, so its own modules win. (The
/// interpreter componentize-py runs inside writes `__pycache__/` next to the modules it
/// imports; the project's `.gitignore` lists it.)
fn componentize_command(python: &Path, kind: Kind, paths: &Paths<'_>) -> Command {
    let mut command = Command::new(python);
    command
        .arg("-c")
        .arg(LAUNCH)
        .arg("-d")
        .arg(paths.wit)
        .args(["-w", kind.world(), "componentize", "app", "-p"])
        .arg(paths.project)
        .arg("-p")
        .arg(paths.sdk)
        .arg("-o")
        .arg(paths.output)
        .current_dir(paths.project)
        // Its failures end with the error, not with a Rust backtrace the tail would keep.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0");
    // Packages come from the author's active virtual environment (pure-Python packages only);
    // without one, from componentize-py's own, never from the machine's site-packages, so the
    // build does not depend on what happens to be installed.
    if std::env::var_os("VIRTUAL_ENV").is_none_or(|v| v.is_empty()) {
        command.env("VIRTUAL_ENV", paths.tool);
    }
    command
}

/// Installs componentize-py into `dir` (empty): a virtual environment made by `python`, then
/// `pip install componentize-py==VERSION` in it, then a check that it runs.
fn install(python: &OsStr, dir: &Path) -> Result<(), BuildError> {
    check_python(python)?;
    let failed = |step: &str, e: BuildError| BuildError::ToolInstall {
        tool: LABEL.into(),
        message: format!("{step} failed: {e}"),
    };
    run_tool(
        Command::new(python).args(["-m", "venv"]).arg(dir),
        "python3 -m venv",
    )
    .map_err(|e| failed("creating its virtual environment", e))
    .map_err(with_venv_hint)?;
    let venv = venv_python(dir);
    run_tool(
        Command::new(&venv).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            &format!("componentize-py=={VERSION}"),
        ]),
        "pip",
    )
    .map_err(|e| failed("pip install (from PyPI)", e))?;
    let version = run_tool(
        Command::new(&venv).arg("-c").arg(LAUNCH).arg("--version"),
        "componentize-py",
    )
    .map_err(|e| failed("running it", e))?;
    if !version.contains(VERSION) {
        return Err(BuildError::ToolInstall {
            tool: LABEL.into(),
            message: format!(
                "pip installed a componentize-py that says {:?}",
                version.trim()
            ),
        });
    }
    Ok(())
}

/// `python3 -m venv` fails on Debian-like systems without the `python3-venv` package.
fn with_venv_hint(e: BuildError) -> BuildError {
    match e {
        BuildError::ToolInstall { tool, message } if message.contains("ensurepip") => {
            BuildError::ToolInstall {
                tool,
                message: format!(
                    "{message}\n(on Debian or Ubuntu: install the python3-venv package)"
                ),
            }
        }
        other => other,
    }
}

/// Checks that `python` runs and is Python 3.9 or newer.
fn check_python(python: &OsStr) -> Result<(), BuildError> {
    let output = Command::new(python)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            python_needed(&format!(
                "{} could not be run ({e})",
                python.to_string_lossy()
            ))
        })?;
    let mut said = String::from_utf8_lossy(&output.stdout).into_owned();
    said.push_str(&String::from_utf8_lossy(&output.stderr));
    judge_python(&python.to_string_lossy(), &said)
}

/// Whether `said` (what `python --version` printed) names a Python that is new enough.
fn judge_python(python: &str, said: &str) -> Result<(), BuildError> {
    match parse_version(said) {
        Some(found) if found >= MIN_PYTHON => Ok(()),
        Some((major, minor)) => Err(python_needed(&format!(
            "{python} is Python {major}.{minor}"
        ))),
        None => Err(python_needed(&format!(
            "{python} --version said {:?}, not a Python version",
            said.trim()
        ))),
    }
}

/// The install error for a Python that is missing or too old: `why`, then what is needed.
fn python_needed(why: &str) -> BuildError {
    BuildError::ToolInstall {
        tool: LABEL.into(),
        message: format!(
            "{why}; componentize-py needs Python {}.{} or newer as `python3` on PATH to install \
             (https://www.python.org/downloads/)",
            MIN_PYTHON.0, MIN_PYTHON.1
        ),
    }
}

/// `(3, 11)` from `Python 3.11.7`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let rest = text.trim().strip_prefix("Python ")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// The interpreter of the virtual environment in `dir`.
fn venv_python(dir: &Path) -> PathBuf {
    if cfg!(windows) {
        dir.join("Scripts").join("python.exe")
    } else {
        dir.join("bin").join("python")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_versions_are_read_from_what_python_says() {
        assert_eq!(parse_version("Python 3.11.7\n"), Some((3, 11)));
        assert_eq!(parse_version("Python 3.9.0rc1"), Some((3, 9)));
        assert_eq!(parse_version("Python 3.13"), Some((3, 13)));
        assert_eq!(parse_version("Python 2.7.18"), Some((2, 7)));
        assert_eq!(parse_version("command not found"), None);
    }

    #[test]
    fn a_missing_or_old_python_is_named_with_what_is_needed() {
        let err = check_python(OsStr::new("/nonexistent/python3"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/python3 could not be run"),
            "{err}"
        );
        assert!(err.contains("needs Python 3.9 or newer"), "{err}");
        let err = judge_python("python3", "Python 3.8.10\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("python3 is Python 3.8; componentize-py needs Python 3.9 or newer"),
            "{err}"
        );
        let err = judge_python("python3", "Python was not found; run without arguments")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a Python version"), "{err}");
        judge_python("python3", "Python 3.9.0").unwrap();
        judge_python("python3", "Python 3.12.1\n").unwrap();
    }

    #[test]
    fn a_project_without_app_py_fails_before_anything_is_installed() {
        let project = tempfile::tempdir().unwrap();
        let tools = tempfile::tempdir().unwrap();
        let output = project.path().join("dist/x.wasm");
        let engine_dir = project.path().join(".engine");
        let recipe = Recipe {
            project: project.path(),
            name: "x",
            kind: Kind::Stage,
            engine_dir: &engine_dir,
            output: &output,
            tools_dir: tools.path(),
        };
        let err = build(&recipe).unwrap_err().to_string();
        assert!(err.contains("has no app.py"), "{err}");
        assert_eq!(std::fs::read_dir(tools.path()).unwrap().count(), 0);
    }

    #[test]
    fn componentize_py_gets_the_world_the_paths_and_the_output() {
        let paths = Paths {
            project: Path::new("/p"),
            wit: Path::new("/p/.engine/wit"),
            sdk: Path::new("/p/.engine/sdk/python"),
            output: Path::new("/p/dist/x.wasm"),
            tool: Path::new("/t/py"),
        };
        let command = componentize_command(Path::new("/t/py/bin/python"), Kind::Source, &paths);
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args[2..],
            [
                "-d",
                "/p/.engine/wit",
                "-w",
                "source",
                "componentize",
                "app",
                "-p",
                "/p",
                "-p",
                "/p/.engine/sdk/python",
                "-o",
                "/p/dist/x.wasm"
            ]
        );
        assert_eq!(command.get_current_dir(), Some(Path::new("/p")));
        let env = |key: &str| {
            command
                .get_envs()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
        };
        assert_eq!(env("RUST_BACKTRACE").as_deref(), Some("0"));
        // The author's virtual environment supplies packages; without one, the tool's own.
        if std::env::var_os("VIRTUAL_ENV").is_none_or(|v| v.is_empty()) {
            assert_eq!(env("VIRTUAL_ENV").as_deref(), Some("/t/py"));
        } else {
            assert_eq!(env("VIRTUAL_ENV"), None);
        }
    }
}
