//! End-to-end: what `engine serve` refuses. A public address needs a token; the token is
//! checked (bearer or cookie); another site's page cannot start a run (Origin, Sec-Fetch-Site,
//! DNS rebinding through Host), nor reach `/mcp`; no secret value reaches a response.

use super::serve::Server;
use crate::support::http_client::{Events, get, request};
use crate::support::{GATED, TestRepo};

#[test]
fn the_server_refuses_what_it_must() {
    let repo = TestRepo::new();
    repo.workflow(GATED);
    // A public address without a token, or with a short one: refused before listening.
    repo.run(&["serve", "workflow.yaml", "--listen", "0.0.0.0:0"])
        .exits(2)
        .stderr_has("not a loopback address: set a token");
    repo.engine()
        .args(["serve", "workflow.yaml", "--listen", "0.0.0.0:0"])
        .env("ENGINE_SERVE_TOKEN", "short")
        .run()
        .exits(2)
        .stderr_has("use at least 16");

    let token = "0123456789abcdef0123";
    let server = Server::start(&repo, &[("ENGINE_SERVE_TOKEN", token)]);
    let addr = server.addr.clone();
    let bearer = format!("Bearer {token}");
    assert_eq!(get(&addr, "/api/status").status, 401);
    assert_eq!(get(&addr, "/metrics").status, 401);
    let wrong = request(
        &addr,
        "GET",
        "/api/status",
        &[("Authorization", "Bearer 0123456789abcdef0124")],
        None,
    );
    assert_eq!(wrong.status, 401);
    let ok = request(
        &addr,
        "GET",
        "/api/status",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(!ok.body.contains(token), "the token is echoed");
    // The page shell loads without the token, with a strict content security policy.
    let page = get(&addr, "/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    // `/?token=` sets the cookie and sends the browser on to `/`.
    let login = get(&addr, &format!("/?token={token}"));
    assert_eq!(login.status, 303);
    let cookie = login.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    assert_eq!(
        request(&addr, "GET", "/api/runs", &[("Cookie", &pair)], None).status,
        200
    );
    assert_eq!(get(&addr, "/?token=wrongwrongwrongwrong").status, 401);

    // Another site's page cannot start a run, even with the cookie (DNS rebinding and CSRF).
    let body = r#"{"task": "Ship it"}"#;
    let json = ("Content-Type", "application/json");
    for headers in [
        vec![
            json,
            ("Cookie", pair.as_str()),
            ("Origin", "http://evil.example"),
        ],
        vec![
            json,
            ("Cookie", pair.as_str()),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        vec![
            json,
            ("Authorization", bearer.as_str()),
            ("Host", "evil.example"),
        ],
    ] {
        let refused = request(&addr, "POST", "/api/runs", &headers, Some(body));
        assert_eq!(refused.status, 403, "{headers:?}: {}", refused.body);
    }
    let runs = request(
        &addr,
        "GET",
        "/api/runs",
        &[("Authorization", &bearer)],
        None,
    )
    .json();
    assert_eq!(
        runs,
        serde_json::json!([]),
        "a refused request started a run"
    );
    let same = request(
        &addr,
        "POST",
        "/api/runs",
        &[
            json,
            ("Cookie", pair.as_str()),
            ("Origin", &format!("http://{addr}")),
        ],
        Some(body),
    );
    assert_eq!(same.status, 202, "{}", same.body);
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn no_secret_value_reaches_a_response() {
    let repo = TestRepo::new();
    let secret = "s3cr3t-value-that-must-not-leak";
    repo.workflow(
        r#"
name: secretive
stages:
  check:
    uses: builtin:gate
    secrets: [SERVE_TEST_TOKEN]
    with: { commands: ["sh -c 'echo token is {{ secrets.SERVE_TEST_TOKEN }}'"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let server = Server::start(&repo, &[("SERVE_TEST_TOKEN", secret)]);
    let addr = server.addr.clone();
    let run_id = server.start_run("Check");
    let mut events = Events::open(&addr, &format!("/api/runs/{run_id}/events"));
    let mut seen = String::new();
    while let Some(event) = events.next() {
        seen.push_str(&event.data);
        if event.name == "end" {
            break;
        }
    }
    assert!(seen.contains("token is"), "{seen}");
    for path in [
        format!("/api/runs/{run_id}"),
        format!("/api/runs/{run_id}/logs"),
        "/api/runs".to_string(),
        "/api/status".to_string(),
        "/metrics".to_string(),
    ] {
        seen.push_str(&get(&addr, &path).body);
    }
    assert!(!seen.contains(secret), "a secret value leaked:\n{seen}");
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn the_mcp_tools_are_served_behind_the_same_checks() {
    let repo = TestRepo::new();
    repo.workflow(GATED);
    let token = "0123456789abcdef0123";
    let server = Server::start(&repo, &[("ENGINE_SERVE_TOKEN", token)]);
    let addr = server.addr.clone();
    let bearer = format!("Bearer {token}");
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#;
    let mcp = |extra: &[(&str, &str)]| {
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        headers.extend_from_slice(extra);
        request(&addr, "POST", "/mcp", &headers, Some(initialize))
    };
    assert_eq!(mcp(&[]).status, 401);
    let cross = mcp(&[
        ("Authorization", &bearer),
        ("Origin", "http://evil.example"),
    ]);
    assert_eq!(cross.status, 403, "{}", cross.body);
    let answer = mcp(&[("Authorization", &bearer)]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("serverInfo"), "{}", answer.body);
    assert!(
        answer.header("mcp-session-id").is_some(),
        "{:?}",
        answer.headers
    );
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}
