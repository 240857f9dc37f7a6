//! The JavaScript recipe of `engine plugin build`: `app.js` componentized with
//! componentize-js 0.23.0 against the project's `.engine/wit`, world `stage` or `source`.
//!
//! The tools (`@bytecodealliance/jco` 1.35.0 and `@bytecodealliance/componentize-js` 0.23.0,
//! exact versions) are installed once with `npm install --prefix <tools>/jco-1.35.0`, never
//! globally. The build runs componentize-js's own command line, not `jco componentize`: jco
//! 1.35.0 reads the WIT through a WASI shim that has no preopened directory, so every
//! `jco componentize` fails with `failed to get path metadata ... (os error 44)`, and it would
//! use the componentize-js 0.22 it bundles instead of the pinned 0.23.0.
//!
//! componentize-js runs with the project as its working directory, so `app.js` may import
//! modules by relative path (`./.engine/sdk/js/engine-stage.js`, `./lib/helpers.js`): they are
//! resolved and snapshotted into the component at build time, no bundler needed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{BuildError, Recipe};
use crate::plugin::toolchain::{install_once, progress, run_tool};

/// The npm packages installed, exactly these versions.
const PACKAGES: [&str; 2] = [
    "@bytecodealliance/jco@1.35.0",
    "@bytecodealliance/componentize-js@0.23.0",
];
/// The tools directory's entry (`<tools>/jco-1.35.0`).
const TOOL_DIR: &str = "jco-1.35.0";
/// How the tools are named in messages.
const TOOL_LABEL: &str = "jco 1.35.0 and componentize-js 0.23.0";
/// The componentize-js version the build must find installed.
const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
/// The oldest Node.js major version componentize-js 0.23.0 runs on.
const MIN_NODE_MAJOR: u32 = 18;
/// The entry point of a JavaScript plugin project.
const ENTRY: &str = "app.js";

/// Builds the project into `recipe.output`.
pub(super) fn build(recipe: &Recipe<'_>) -> Result<(), BuildError> {
    build_with(recipe, OsStr::new("node"), OsStr::new("npm"))
}

/// [`build`] with the `node` and `npm` programs to use.
fn build_with(recipe: &Recipe<'_>, node: &OsStr, npm: &OsStr) -> Result<(), BuildError> {
    let entry = recipe.project.join(ENTRY);
    if !entry.is_file() {
        return Err(BuildError::Project(format!(
            "{} not found: a JavaScript plugin's entry point is {ENTRY} at the project's root \
             (see docs/plugins/js.md)",
            entry.display()
        )));
    }
    let wit = recipe.engine_dir.join("wit");
    if !wit.is_dir() {
        return Err(BuildError::Project(format!(
            "{} not found: the engine writes its WIT there before building",
            wit.display()
        )));
    }
    check_node(node)?;
    let tools = install_once(recipe.tools_dir, TOOL_DIR, TOOL_LABEL, |staging| {
        install(npm, staging)
    })?;
    let cli = componentize_cli(&tools)?;
    let shown = recipe
        .output
        .strip_prefix(recipe.project)
        .unwrap_or(recipe.output);
    progress(&format!(
        "componentize-js: building {} (world {})...",
        shown.display(),
        recipe.kind.world()
    ));
    match run_tool(
        &mut componentize_command(recipe, node, &cli)?,
        "componentize-js",
    ) {
        Ok(_) => Ok(()),
        Err(BuildError::ToolFailed {
            tool,
            status,
            output,
        }) => {
            let mut output = readable(&output);
            // componentize-js says only "failed to parse JS source" for a syntax error in
            // app.js; node's own check says where.
            if output.contains("failed to parse JS source")
                && let Some(syntax) = syntax_error(node, &entry)
            {
                output = format!("{syntax}\n{output}");
            }
            Err(BuildError::ToolFailed {
                tool,
                status,
                output,
            })
        }
        Err(other) => Err(other),
    }
}

/// The componentize-js command line: run from the project's directory (so that `app.js` and
/// its relative imports resolve there), with every other path made absolute.
fn componentize_command(
    recipe: &Recipe<'_>,
    node: &OsStr,
    cli: &Path,
) -> Result<Command, BuildError> {
    let absolute = |path: &Path| {
        std::path::absolute(path).map_err(|source| BuildError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut command = Command::new(node);
    command
        .arg(absolute(cli)?)
        .arg(ENTRY)
        .arg("--wit")
        .arg(absolute(&recipe.engine_dir.join("wit"))?)
        .arg("--world-name")
        .arg(recipe.kind.world())
        .arg("--out")
        .arg(absolute(recipe.output)?)
        .current_dir(absolute(recipe.project)?);
    Ok(command)
}

/// componentize-js's failure output without node's noise: the frames and source excerpts of
/// the tool's own code (`node_modules`, `node:internal`) and node's version line. What is
/// left is the message, with the user's file, line and JavaScript stack.
fn readable(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let tool_code = line.contains("node_modules/") || line.contains("node:internal");
        if line.starts_with("file:///") && tool_code {
            // `file:///...:365`, the source line, then a line holding only the caret.
            let caret = lines.get(i + 2).is_some_and(|l| l.trim() == "^");
            i += if caret { 3 } else { 1 };
            continue;
        }
        let frame = line.trim_start().starts_with("at ") && tool_code;
        if !frame && !line.starts_with("Node.js v") {
            kept.push(line);
        }
        i += 1;
    }
    kept.join("\n").trim().to_string()
}

/// Where `node` finds a syntax error in `entry`, parsed as an ES module: its message with the
/// file, line and caret; `None` when node finds none (or cannot run).
fn syntax_error(node: &OsStr, entry: &Path) -> Option<String> {
    let source = std::fs::File::open(entry).ok()?;
    let output = Command::new(node)
        .args(["--input-type=module", "--check"])
        .stdin(source)
        .output()
        .ok()?;
    if output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stderr).replace("[stdin]", ENTRY);
    Some(readable(&text))
}

/// Checks that `node` runs and is recent enough; says what to install when not.
fn check_node(node: &OsStr) -> Result<(), BuildError> {
    let missing = |why: String| BuildError::ToolInstall {
        tool: TOOL_LABEL.into(),
        message: format!(
            "building a JavaScript plugin needs Node.js {MIN_NODE_MAJOR} or newer with npm \
             (https://nodejs.org): {why}"
        ),
    };
    let output = Command::new(node)
        .arg("--version")
        .output()
        .map_err(|e| missing(format!("cannot run `{}`: {e}", node.to_string_lossy())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    match node_major(&text) {
        Some(major) if output.status.success() && major >= MIN_NODE_MAJOR => Ok(()),
        Some(_) if output.status.success() => Err(missing(format!(
            "`{}` is {}",
            node.to_string_lossy(),
            text.trim()
        ))),
        _ => Err(missing(format!(
            "`{} --version` printed {:?} ({})",
            node.to_string_lossy(),
            text.trim(),
            output.status
        ))),
    }
}

/// The major version of `node --version`'s output (`v20.20.2` → 20).
fn node_major(version: &str) -> Option<u32> {
    let rest = version.trim().strip_prefix('v')?;
    let (major, _) = rest.split_once('.')?;
    major.parse().ok()
}

/// Installs the pinned npm packages into `staging` (an npm prefix).
fn install(npm: &OsStr, staging: &Path) -> Result<(), BuildError> {
    let tool_error = |message: String| BuildError::ToolInstall {
        tool: TOOL_LABEL.into(),
        message,
    };
    let mut command = Command::new(npm);
    command
        .arg("install")
        .arg("--prefix")
        .arg(staging)
        .args([
            "--save-exact",
            "--no-audit",
            "--no-fund",
            "--no-update-notifier",
        ])
        .args(PACKAGES)
        .current_dir(staging);
    run_tool(&mut command, "npm").map_err(|e| match e {
        BuildError::ToolFailed { status, output, .. } if status.starts_with("could not start") => {
            tool_error(format!(
                "npm is needed to install them once (it comes with Node.js): {output}"
            ))
        }
        BuildError::ToolFailed { status, output, .. } => {
            tool_error(format!("`npm install` failed ({status}):\n{output}"))
        }
        other => other,
    })?;
    let installed = installed_version(staging)?;
    if installed != COMPONENTIZE_JS_VERSION {
        return Err(tool_error(format!(
            "npm installed componentize-js {installed}, not {COMPONENTIZE_JS_VERSION}"
        )));
    }
    Ok(())
}

/// The version of the componentize-js installed under the npm prefix `dir`.
fn installed_version(dir: &Path) -> Result<String, BuildError> {
    let manifest = dir.join("node_modules/@bytecodealliance/componentize-js/package.json");
    let text = std::fs::read_to_string(&manifest).map_err(|source| BuildError::Io {
        path: manifest.clone(),
        source,
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        BuildError::Project(format!(
            "{}: not a package manifest: {e}",
            manifest.display()
        ))
    })?;
    Ok(json["version"].as_str().unwrap_or_default().to_string())
}

/// The componentize-js command line script of the installed tools in `tools`.
fn componentize_cli(tools: &Path) -> Result<PathBuf, BuildError> {
    let cli = tools.join("node_modules/@bytecodealliance/componentize-js/src/cli.js");
    if cli.is_file() && installed_version(tools).is_ok_and(|v| v == COMPONENTIZE_JS_VERSION) {
        return Ok(cli);
    }
    Err(BuildError::ToolInstall {
        tool: TOOL_LABEL.into(),
        message: format!(
            "{} is incomplete (no componentize-js {COMPONENTIZE_JS_VERSION}): remove that \
             directory and build again to reinstall",
            tools.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::build::Kind;

    fn recipe<'a>(project: &'a Path, tools: &'a Path, output: &'a Path) -> Recipe<'a> {
        Recipe {
            project,
            name: "demo",
            kind: Kind::Stage,
            engine_dir: project,
            output,
            tools_dir: tools,
        }
    }

    #[test]
    fn node_versions_are_read_from_node_s_output() {
        assert_eq!(node_major("v20.20.2\n"), Some(20));
        assert_eq!(node_major("v18.0.0"), Some(18));
        assert_eq!(node_major("20.1.0"), None);
        assert_eq!(node_major("vX.1"), None);
        assert_eq!(node_major(""), None);
    }

    #[test]
    fn a_project_without_app_js_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("dist/demo.wasm");
        let err = build_with(
            &recipe(dir.path(), dir.path(), &output),
            OsStr::new("node"),
            OsStr::new("npm"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("app.js not found"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    #[test]
    fn a_missing_node_says_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.js"), "").unwrap();
        std::fs::create_dir(dir.path().join("wit")).unwrap();
        let output = dir.path().join("dist/demo.wasm");
        let err = build_with(
            &recipe(dir.path(), dir.path(), &output),
            OsStr::new("engine-test-no-such-node"),
            OsStr::new("npm"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("needs Node.js 18 or newer with npm")
                && err.contains("cannot run `engine-test-no-such-node`"),
            "{err}"
        );
        assert!(!dir.path().join("jco-1.35.0").exists());
    }

    /// A fake `node` printing `version`.
    fn fake_node(dir: &Path, version: &str) -> PathBuf {
        let fake = dir.join(format!("node-{version}"));
        std::fs::write(&fake, format!("#!/bin/sh\necho {version}\n")).unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        fake
    }

    #[test]
    fn a_node_too_old_is_named_with_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_node(fake_node(dir.path(), "v16.20.0").as_os_str())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is v16.20.0") && err.contains("Node.js 18 or newer"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_npm_fails_the_install_and_leaves_no_tool_behind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.js"), "").unwrap();
        std::fs::create_dir(dir.path().join("wit")).unwrap();
        let tools = dir.path().join("tools");
        let output = dir.path().join("dist/demo.wasm");
        let node = fake_node(dir.path(), "v20.1.0");
        let err = build_with(
            &recipe(dir.path(), &tools, &output),
            node.as_os_str(),
            OsStr::new("engine-test-no-such-npm"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cannot install jco 1.35.0 and componentize-js 0.23.0")
                && err.contains("npm is needed"),
            "{err}"
        );
        assert!(!tools.join("jco-1.35.0").exists());
    }

    #[test]
    fn componentize_runs_in_the_project_with_absolute_paths() {
        let project = Path::new("hello-stage");
        let engine_dir = project.join(".engine");
        let output = project.join("dist/hello-stage.wasm");
        let tools = Path::new("tools");
        let recipe = Recipe {
            project,
            name: "hello-stage",
            kind: Kind::Source,
            engine_dir: &engine_dir,
            output: &output,
            tools_dir: tools,
        };
        let command =
            componentize_command(&recipe, OsStr::new("node"), Path::new("cli.js")).unwrap();
        let cwd = std::env::current_dir().unwrap();
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(
            args,
            [
                cwd.join("cli.js").as_os_str(),
                OsStr::new("app.js"),
                OsStr::new("--wit"),
                cwd.join("hello-stage/.engine/wit").as_os_str(),
                OsStr::new("--world-name"),
                OsStr::new("source"),
                OsStr::new("--out"),
                cwd.join("hello-stage/dist/hello-stage.wasm").as_os_str(),
            ]
        );
        assert_eq!(
            command.get_current_dir(),
            Some(cwd.join("hello-stage").as_path())
        );
    }

    #[test]
    fn tool_noise_is_dropped_from_a_failure_and_the_user_s_lines_kept() {
        let output = "file:///t/node_modules/@bytecodealliance/componentize-js/src/componentize.js:365
    throw new Error(err);
          ^

Error: Failed to initialize component (wizer (/t/node_modules/wizer)):
Exception while evaluating top-level script
check.js:27:14 SyntaxError: missing variable name, got '=':
Stack:
  @app.js:11:45
    at componentize (file:///t/node_modules/@bytecodealliance/componentize-js/src/componentize.js:365:11)
    at checkSyntax (node:internal/main/check_syntax:74:5)

Node.js v20.20.2
";
        assert_eq!(
            readable(output),
            "Error: Failed to initialize component (wizer (/t/node_modules/wizer)):
Exception while evaluating top-level script
check.js:27:14 SyntaxError: missing variable name, got '=':
Stack:
  @app.js:11:45"
        );
    }

    #[test]
    fn an_incomplete_install_says_how_to_repair_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = componentize_cli(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("remove that directory and build again"),
            "{err}"
        );
    }
}
