//! What `engine plugin check` and `engine plugin describe` print: aligned text for people,
//! JSON (`--json`) for scripts. The caller escapes untrusted text for the terminal.

use engine_core::{Delivery, Permissions, WorkspaceAccess};
use engine_runtime::inspect::{HOST_WIT_VERSION, Role};
use serde_json::{Value, json};

use super::{Described, Report};

/// `check`'s lines on stdout for a compatible plugin: what it is, what it was built against,
/// who it says it is, its pin.
pub fn check_text(report: &Report) -> String {
    let Ok(described) = &report.outcome else {
        return String::new();
    };
    let (name, version, summary) = identity(described);
    [
        format!(
            "{}: ok: {} this engine can load",
            report.label,
            article(report.role)
        ),
        format!("  kind:          {}", noun(report.role)),
        format!("  built against: {}", built_against(report)),
        format!("  describe:      {name} {version}: {summary}"),
        format!("  sha256:        {}", report.sha256),
    ]
    .join("\n")
}

/// `check --json`: `ok`, `kind`, the versions, and the descriptor's identity or the problem.
pub fn check_json(report: &Report) -> Value {
    let mut doc = json!({
        "file": report.label,
        "ok": report.ok(),
        "kind": report.kind.code(),
        "as": role_code(report.role),
        "wit_version": report.wit_version,
        "engine_wit_version": HOST_WIT_VERSION,
        "sha256": report.sha256,
        "size_bytes": report.size_bytes,
    });
    match &report.outcome {
        Ok(described) => {
            let (name, version, summary) = identity(described);
            doc["name"] = name.into();
            doc["version"] = version.into();
            doc["summary"] = summary.into();
        }
        Err(e) => doc["problem"] = e.to_string().into(),
    }
    doc
}

/// `describe`'s text: name, version, summary, kind, WIT version, delivery, permissions and the
/// config schema (pretty JSON).
pub fn describe_text(report: &Report) -> String {
    let Ok(described) = &report.outcome else {
        return String::new();
    };
    let (name, version, summary) = identity(described);
    let (schema, permissions, delivery) = details(described);
    let mut lines = vec![
        format!("name:          {name}"),
        format!("version:       {version}"),
        format!("summary:       {summary}"),
        format!("kind:          {}", noun(report.role)),
        format!("built against: {}", built_against(report)),
    ];
    if let Some(delivery) = delivery {
        lines.push(format!("delivery:      {}", delivery_code(delivery)));
    }
    lines.push("permissions:".to_string());
    lines.push(format!(
        "  workspace:   {}",
        workspace_code(permissions.workspace)
    ));
    lines.push(format!("  exec:        {}", list(&permissions.exec)));
    lines.push(format!(
        "  agent:       {}",
        if permissions.agent { "yes" } else { "no" }
    ));
    lines.push(format!("  net:         {}", list(&permissions.net)));
    lines.push("config schema:".to_string());
    let pretty = serde_json::to_string_pretty(schema).unwrap_or_else(|_| schema.to_string());
    lines.extend(pretty.lines().map(|line| format!("  {line}")));
    lines.join("\n")
}

/// `describe --json`: the descriptor with the kind and the WIT version.
pub fn describe_json(report: &Report) -> Value {
    let Ok(described) = &report.outcome else {
        return check_json(report);
    };
    let (name, version, summary) = identity(described);
    let (schema, permissions, delivery) = details(described);
    json!({
        "file": report.label,
        "name": name,
        "version": version,
        "summary": summary,
        "kind": role_code(report.role),
        "wit_version": report.wit_version,
        "engine_wit_version": HOST_WIT_VERSION,
        "delivery": delivery.map(delivery_code),
        "permissions": permissions,
        "config_schema": schema,
        "sha256": report.sha256,
    })
}

fn identity(described: &Described) -> (&str, &str, &str) {
    match described {
        Described::Stage(d) => (&d.name, &d.version, &d.summary),
        Described::Source(d) => (&d.name, &d.version, &d.summary),
    }
}

fn details(described: &Described) -> (&Value, &Permissions, Option<Delivery>) {
    match described {
        Described::Stage(d) => (&d.config_schema, &d.permissions, Some(d.delivery)),
        Described::Source(d) => (&d.config_schema, &d.permissions, None),
    }
}

/// `engine:stage@0.1.0 (this engine provides engine:stage@0.1.0)`.
fn built_against(report: &Report) -> String {
    let built = report.wit_version.as_deref().map_or_else(
        || "no engine:stage interface named".to_string(),
        |v| format!("engine:stage@{v}"),
    );
    format!("{built} (this engine provides engine:stage@{HOST_WIT_VERSION})")
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Stage => "a stage",
        Role::Source => "a task source",
    }
}

fn noun(role: Role) -> &'static str {
    role.noun()
}

fn role_code(role: Role) -> &'static str {
    match role {
        Role::Stage => "stage",
        Role::Source => "source",
    }
}

fn delivery_code(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::AtLeastOnce => "at_least_once",
        Delivery::AtMostOnce => "at_most_once",
    }
}

fn workspace_code(access: WorkspaceAccess) -> &'static str {
    match access {
        WorkspaceAccess::None => "none",
        WorkspaceAccess::Read => "read",
        WorkspaceAccess::Write => "write",
    }
}

/// `a, b`, or `(none)`.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}
