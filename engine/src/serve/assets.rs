//! The dashboard's files, shipped inside the binary (no CDN: it works offline).
//!
//! `/` is the page shell; `/static/{name}` serves the style sheet and the ES modules of the
//! dashboard by name from [`STATIC`] (nothing reads the file system: an unknown name is a 404).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::security;

const INDEX: &str = include_str!("assets/index.html");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files under `/static/`: name, content type, body. `app.js` is the entry point (the page
/// shell loads it); it imports the others.
const STATIC: &[(&str, &str, &str)] = &[
    ("style.css", CSS, include_str!("assets/style.css")),
    ("app.js", JS, include_str!("assets/app.js")),
    ("api.js", JS, include_str!("assets/api.js")),
    ("dom.js", JS, include_str!("assets/dom.js")),
    ("budget.js", JS, include_str!("assets/budget.js")),
    ("board.js", JS, include_str!("assets/board.js")),
    ("run.js", JS, include_str!("assets/run.js")),
    ("stages.js", JS, include_str!("assets/stages.js")),
    ("tabs.js", JS, include_str!("assets/tabs.js")),
];

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The content type and body of `/static/{name}`, if it is one of [`STATIC`].
fn lookup(name: &str) -> Option<(&'static str, &'static str)> {
    STATIC
        .iter()
        .find(|(known, _, _)| *known == name)
        .map(|&(_, content_type, body)| (content_type, body))
}

/// `GET /`: the page shell.
pub(super) fn index() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

/// `GET /static/{name}`: a script or the style sheet; any other name is a 404.
pub(super) async fn static_file(Path(name): Path<String>) -> Response {
    match lookup(&name) {
        Some((content_type, body)) => file(body, content_type),
        None => security::refusal(
            StatusCode::NOT_FOUND,
            "no such dashboard file (see docs/http-api.md)",
        ),
    }
}

#[cfg(test)]
mod tests {
    //! What every shipped file must satisfy: the page runs under the strict CSP (no inline
    //! scripts, handlers or styles), puts API text into the page only as text (no HTML sinks),
    //! loads nothing from elsewhere (no CDN), and every module it imports is served.

    use super::*;

    /// Every shipped file: `index.html` and the files of [`STATIC`].
    fn shipped() -> Vec<(&'static str, &'static str)> {
        let mut files = vec![("index.html", INDEX)];
        files.extend(STATIC.iter().map(|&(name, _, body)| (name, body)));
        files
    }

    /// An HTML tag: its name and attributes (names lowercased; values without quotes).
    struct Tag {
        name: String,
        attributes: Vec<(String, String)>,
    }

    /// The start tags of `html` (comments, doctypes and end tags skipped); a rough tokenizer that
    /// is enough for the page shell, which has no `<` in its text.
    fn tags(html: &str) -> Vec<Tag> {
        let mut found = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find('<') {
            rest = &rest[start + 1..];
            if rest.starts_with(['!', '/']) {
                continue;
            }
            let name_end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let name = rest[..name_end].to_ascii_lowercase();
            rest = &rest[name_end..];
            let mut attributes = Vec::new();
            loop {
                rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
                if rest.is_empty() || rest.starts_with('>') {
                    break;
                }
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
                    .unwrap_or(rest.len());
                let attribute = rest[..end].to_ascii_lowercase();
                rest = rest[end..].trim_start();
                let mut value = String::new();
                if let Some(after) = rest.strip_prefix('=') {
                    let after = after.trim_start();
                    let (text, remaining) = if let Some(quote @ ('"' | '\'')) = after.chars().next()
                    {
                        let body = &after[1..];
                        let close = body.find(quote).expect("an unclosed attribute value");
                        (&body[..close], &body[close + 1..])
                    } else {
                        let close = after
                            .find(|c: char| c.is_whitespace() || c == '>')
                            .unwrap_or(after.len());
                        (&after[..close], &after[close..])
                    };
                    value = text.to_owned();
                    rest = remaining;
                }
                attributes.push((attribute, value));
            }
            found.push(Tag { name, attributes });
        }
        found
    }

    impl Tag {
        fn get(&self, name: &str) -> Option<&str> {
            self.attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// The first string literal (`'…'` or `"…"`) at the start of `text`, if there is one.
    fn literal(text: &str) -> Option<String> {
        let quote = text.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
        let body = &text[1..];
        Some(body[..body.find(quote).unwrap_or(body.len())].to_owned())
    }

    /// The module specifiers of a script: of its `import`/`export … from` statements (at the
    /// start of a line, as written here), then of its `import(…)` calls (`None` for a computed
    /// one, which cannot be checked).
    fn imports(script: &str) -> Vec<Option<String>> {
        let mut found = Vec::new();
        let starts = std::iter::once(0).chain(script.match_indices('\n').map(|(at, _)| at + 1));
        for start in starts {
            let rest = &script[start..];
            if !rest.starts_with("import") && !rest.starts_with("export") {
                continue;
            }
            let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
            let specifier = match statement.rfind(" from ") {
                Some(at) => literal(statement[at + 6..].trim_start()),
                None => statement
                    .strip_prefix("import")
                    .and_then(|after| literal(after.trim_start())),
            };
            found.extend(specifier.map(Some));
        }
        for (at, _) in script.match_indices("import(") {
            let before = script[..at].chars().next_back();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                found.push(literal(script[at + 7..].trim_start()));
            }
        }
        found
    }

    #[test]
    fn no_file_uses_an_html_sink_eval_or_another_origin() {
        let forbidden = [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "http://",
            "https://",
        ];
        for (name, body) in shipped() {
            for word in forbidden {
                assert!(!body.contains(word), "{name} contains `{word}`");
            }
        }
    }

    #[test]
    fn the_page_shell_has_no_inline_script_handler_or_style() {
        let tags = tags(INDEX);
        assert!(
            tags.iter().any(|t| t.name == "script"),
            "the tokenizer sees the script"
        );
        for tag in &tags {
            assert_ne!(tag.name, "style", "an inline <style> in index.html");
            for (attribute, _) in &tag.attributes {
                assert!(
                    !attribute.starts_with("on") && attribute != "style",
                    "<{} {attribute}=…> in index.html",
                    tag.name
                );
            }
            if tag.name == "script" {
                assert!(
                    tag.get("src").is_some_and(|src| !src.is_empty()),
                    "a <script> without src in index.html"
                );
            }
        }
        let lower = INDEX.to_ascii_lowercase();
        for (at, _) in lower.match_indices("<script") {
            let open_end = lower[at..].find('>').expect("the tag's end") + at + 1;
            assert!(
                lower[open_end..].starts_with("</script>"),
                "a <script> with a body in index.html"
            );
        }
    }

    #[test]
    fn the_page_shell_loads_only_served_files() {
        let mut loaded = 0;
        for tag in tags(INDEX) {
            for attribute in ["src", "href"] {
                let Some(url) = tag.get(attribute) else {
                    continue;
                };
                if url.starts_with('#') || url == "data:," {
                    continue;
                }
                let name = url.strip_prefix("/static/").unwrap_or_else(|| {
                    panic!("<{} {attribute}={url}> is not a served file", tag.name)
                });
                assert!(lookup(name).is_some(), "index.html loads {url}: not served");
                loaded += 1;
            }
        }
        assert_eq!(loaded, 2, "the style sheet and app.js");
    }

    #[test]
    fn every_import_names_a_served_script_and_every_script_is_imported() {
        let mut reached = vec!["app.js".to_owned()];
        let mut next = 0;
        while let Some(name) = reached.get(next).cloned() {
            next += 1;
            let (_, body) = lookup(&name).expect("a served script");
            let found = imports(body);
            for specifier in found {
                let specifier = specifier
                    .unwrap_or_else(|| panic!("{name}: an import() of a computed specifier"));
                let target = specifier.strip_prefix("./").unwrap_or_else(|| {
                    panic!("{name} imports `{specifier}`: not a relative `./x.js`")
                });
                let served = lookup(target).is_some_and(|(content_type, _)| content_type == JS);
                assert!(served, "{name} imports `{specifier}`: not a served script");
                if !reached.iter().any(|r| r == target) {
                    reached.push(target.to_owned());
                }
            }
        }
        for &(name, content_type, _) in STATIC {
            if content_type == JS {
                assert!(
                    reached.iter().any(|r| r == name),
                    "{name} is served but never imported"
                );
            }
        }
    }

    #[test]
    fn every_file_of_the_assets_folder_is_shipped() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/src/serve/assets");
        for entry in std::fs::read_dir(folder).expect("the assets folder") {
            let name = entry.expect("an entry").file_name();
            let name = name.to_string_lossy();
            assert!(
                name == "index.html" || lookup(&name).is_some(),
                "{name} is in the assets folder but not served"
            );
        }
    }

    #[test]
    fn the_import_scanner_sees_every_form() {
        let script = "import { a } from './a.js';\nimport './b.js';\nconst m = import(name);\n\
                      h('label', {}, 'from ', x); // import 'no'\nexport { c } from \"./c.js\";\n\
                      import {\n  d,\n} from './d.js';\nexport function e() {}\nimport('./f.js');";
        assert_eq!(
            imports(script),
            vec![
                Some("./a.js".to_owned()),
                Some("./b.js".to_owned()),
                Some("./c.js".to_owned()),
                Some("./d.js".to_owned()),
                None,
                Some("./f.js".to_owned()),
            ]
        );
    }

    #[tokio::test]
    async fn only_known_names_are_served() {
        for &(name, content_type, body) in STATIC {
            let response = static_file(Path(name.to_owned())).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], content_type);
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the body");
            assert_eq!(bytes, body.as_bytes());
        }
        for name in [
            "",
            "index.html",
            "APP.JS",
            "../assets.rs",
            "app.js/",
            "nope.js",
        ] {
            let response = static_file(Path(name.to_owned())).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{name:?}");
        }
    }
}
