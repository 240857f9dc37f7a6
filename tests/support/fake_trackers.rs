//! Stateful fake `gh` and `bd` programs for the task-source tests: shell scripts on the engine's
//! PATH that keep each issue's state in files, so claims, label edits and closes change what the
//! next listing says, as the real CLIs do. Each logs its arguments, one call a line, to
//! `<dir>/gh.log` or `<dir>/bd.log`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// An issue of the fake `gh`; issues are numbered from 1 in the order given, all open and
/// labelled `engine`, in octo/app.
pub struct GhIssue<'a> {
    /// The title.
    pub title: &'a str,
    /// The body (e.g. `Depends on: #1`).
    pub body: &'a str,
    /// The milestone's title, if any.
    pub milestone: Option<&'a str>,
}

/// An issue of the fake `bd`, open and unassigned at first.
pub struct BdIssue<'a> {
    /// The id (`bd-1`, `bd-4.1`).
    pub id: &'a str,
    /// The title.
    pub title: &'a str,
    /// The priority (0 highest).
    pub priority: u8,
    /// The `issue_type` (`epic`, `task`), printed only when set.
    pub issue_type: Option<&'a str>,
    /// Dependencies: (the issue it depends on, the dependency type: `blocks`, `parent-child`).
    pub depends_on: &'a [(&'a str, &'a str)],
}

/// Text the scripts print inside double quotes: nothing a test needs quoting for.
#[track_caller]
fn plain(text: &str) -> &str {
    assert!(
        !text.contains(['"', '\'', '\\', '$', '`', '\n']),
        "fake tracker text must be plain: {text:?}"
    );
    text
}

/// Writes `script` as the executable `dir/bin/name`; returns `dir/bin`.
fn install(dir: &Path, name: &str, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Installs the fake `gh` in `dir/bin` (returned) with its state in `dir/state`.
pub fn stateful_gh(dir: &Path, issues: &[GhIssue<'_>]) -> PathBuf {
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mut cases = String::new();
    let mut numbers = Vec::new();
    for (i, issue) in issues.iter().enumerate() {
        let n = i + 1;
        numbers.push(n.to_string());
        std::fs::write(state.join(format!("{n}.state")), "OPEN").unwrap();
        std::fs::write(state.join(format!("{n}.labels")), "engine\n").unwrap();
        std::fs::write(state.join(format!("{n}.claim")), "").unwrap();
        let milestone = issue.milestone.map_or(String::new(), |m| {
            format!(",\\\"milestone\\\":{{\\\"title\\\":\\\"{}\\\"}}", plain(m))
        });
        let _ = writeln!(
            cases,
            "    {n}) t=\"{}\"; b=\"{}\"; m=\"{milestone}\" ;;",
            plain(issue.title),
            plain(issue.body)
        );
    }
    let script = format!(
        r#"#!/bin/sh
S='{state}'
printf '%s\n' "$*" >> '{log}'
issue() {{
  case "$1" in
{cases}  esac
  labels=$(sed 's/.*/{{"name":"&"}}/' "$S/$1.labels" | paste -sd, -)
  claim=$(cat "$S/$1.claim")
  comments=''
  [ -n "$claim" ] && comments=",\"comments\":[{{\"body\":\"<!-- engine-claim: $claim -->\"}}]"
  printf '{{"number":%s,"title":"%s","body":"%s","labels":[%s],"state":"%s","url":"https://github.com/octo/app/issues/%s"%s%s}}' \
    "$1" "$t" "$b" "$labels" "$(cat "$S/$1.state")" "$1" "$m" "$comments"
}}
case "$1 $2" in
  "issue list")
    sep=''; printf '['
    for n in {numbers}; do
      [ "$(cat "$S/$n.state")" = OPEN ] || continue
      printf '%s' "$sep"; issue "$n"; sep=','
    done
    printf ']\n' ;;
  "issue view") issue "$3"; echo ;;
  "issue comment")
    run=$(printf '%s' "$5" | sed -n 's/.*engine-claim: \([^ ]*\) -->.*/\1/p')
    [ -n "$run" ] && printf '%s' "$run" > "$S/$3.claim" ;;
  "issue edit")
    n=$3; shift 3
    while [ $# -gt 0 ]; do
      case "$1" in
        --add-label) echo "$2" >> "$S/$n.labels" ;;
        --remove-label) grep -vx "$2" "$S/$n.labels" > "$S/$n.tmp"; mv "$S/$n.tmp" "$S/$n.labels" ;;
      esac
      shift 2
    done ;;
  "issue close") echo CLOSED > "$S/$3.state" ;;
  *) echo "fake gh: unexpected $*" >&2; exit 1 ;;
esac
"#,
        state = state.display(),
        log = dir.join("gh.log").display(),
        numbers = numbers.join(" "),
    );
    install(dir, "gh", &script)
}

/// Installs the fake `bd` in `dir/bin` (returned) with its state in `dir/state`.
pub fn stateful_bd(dir: &Path, issues: &[BdIssue<'_>]) -> PathBuf {
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mut cases = String::new();
    let mut ids = Vec::new();
    for issue in issues {
        let id = plain(issue.id);
        ids.push(id);
        std::fs::write(state.join(format!("{id}.status")), "open").unwrap();
        std::fs::write(state.join(format!("{id}.assignee")), "").unwrap();
        let deps: Vec<String> = issue
            .depends_on
            .iter()
            .map(|(on, kind)| {
                format!(
                    "{{\"issue_id\":\"{id}\",\"depends_on_id\":\"{}\",\"type\":\"{}\"}}",
                    plain(on),
                    plain(kind)
                )
            })
            .collect();
        let issue_type = issue.issue_type.map_or(String::new(), |t| {
            format!(",\"issue_type\":\"{}\"", plain(t))
        });
        let _ = writeln!(
            cases,
            "    {id}) t=\"{}\"; p={}; ty='{issue_type}'; deps='[{}]' ;;",
            plain(issue.title),
            issue.priority,
            deps.join(",")
        );
    }
    let script = format!(
        r#"#!/bin/sh
S='{state}'
printf '%s\n' "$*" >> '{log}'
issue() {{
  st=$(cat "$S/$1.status"); who=$(cat "$S/$1.assignee")
  case "$1" in
{cases}  esac
  printf '{{"id":"%s","title":"%s","status":"%s","priority":%s%s,"assignee":"%s","dependencies":%s}}' "$1" "$t" "$st" "$p" "$ty" "$who" "$deps"
}}
list() {{
  sep=''; printf '['
  for id in "$@"; do printf '%s' "$sep"; issue "$id"; sep=','; done
  printf ']\n'
}}
case "$*" in
  "list --json --limit 0")
    open=''; for id in {ids}; do [ "$(cat "$S/$id.status")" != closed ] && open="$open $id"; done
    list $open ;;
  "list --json --all --limit 0 --id "*) list $(echo "$7" | tr ',' ' ') ;;
  "show "*" --json") list "$2" ;;
  "update "*" --status in_progress --assignee="*" --json")
    echo in_progress > "$S/$2.status"; echo "${{5#--assignee=}}" > "$S/$2.assignee"; list "$2" ;;
  "close "*" --json") echo closed > "$S/$2.status"; list "$2" ;;
  "update "*" --status open --json") echo open > "$S/$2.status"; list "$2" ;;
  "comments add "*) echo '{{}}' ;;
  *) echo "fake bd: unexpected $*" >&2; exit 1 ;;
esac
"#,
        state = state.display(),
        log = dir.join("bd.log").display(),
        ids = ids.join(" "),
    );
    install(dir, "bd", &script)
}
