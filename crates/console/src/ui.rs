//! The web console's pages: a few static files embedded in the binary (no build step, nothing
//! fetched from elsewhere) that call the management API with a session cookie. `/` is the
//! shell, `/ui/*` its script, styles and translations.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (name, content type, bytes) of every file under /ui/.
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "core.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/core.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/i18n.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/chart.js"),
    ),
    (
        "pages.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/pages.js"),
    ),
    (
        "pages2.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/pages2.js"),
    ),
    (
        "extra.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/extra.js"),
    ),
];

const INDEX: &str = include_str!("../assets/index.html");

/// Only this origin's scripts, styles and requests; never framed.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'";

fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// GET /: the console's shell.
pub async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX)
}

/// GET /ui/{file}.
pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => page(content_type, body),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_shell_should_load_every_embedded_script_and_nothing_else() {
        for (name, _, _) in FILES {
            if name.ends_with(".js") || name.ends_with(".css") {
                assert!(
                    INDEX.contains(&format!("/ui/{name}")),
                    "{name} is loaded by the shell"
                );
            }
        }
        for loaded in INDEX
            .split("/ui/")
            .skip(1)
            .filter_map(|r| r.split('"').next())
        {
            assert!(
                FILES.iter().any(|f| f.0 == loaded),
                "/ui/{loaded} is embedded"
            );
        }
        assert!(
            !INDEX.contains("http://") && !INDEX.contains("https://"),
            "nothing external"
        );
    }

    /// Keys the pages look up with `t('…')` or `label: '…'` (dynamic prefixes ending in `.`
    /// left out).
    fn used_keys(js: &str) -> Vec<&str> {
        let mut keys = Vec::new();
        for pattern in ["t('", "label: '"] {
            for (at, _) in js.match_indices(pattern) {
                // `split('` and the like end in `t('` too: only a call of `t` itself counts.
                let before = js[..at].chars().next_back().unwrap_or(' ');
                if pattern == "t('" && (before.is_alphanumeric() || before == '_' || before == '.')
                {
                    continue;
                }
                let rest = &js[at + pattern.len()..];
                if let Some(end) = rest.find('\'') {
                    let key = &rest[..end];
                    if !key.trim().is_empty() && !key.ends_with('.') {
                        keys.push(key);
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn given_the_pages_every_word_should_exist_in_english_and_chinese() {
        let i18n = FILES
            .iter()
            .find(|f| f.0 == "i18n.js")
            .map(|f| f.2)
            .unwrap_or_default();
        let Some((en, zh)) = i18n.split_once("\n  zh: {") else {
            panic!("i18n.js has no zh table");
        };
        let defined = |table: &str, key: &str| {
            table.contains(&format!("'{key}':")) || table.contains(&format!(" {key}:"))
        };
        let mut missing = Vec::new();
        for (name, _, body) in FILES.iter().chain([&("index.html", "", INDEX)]) {
            let mut keys = used_keys(body);
            keys.extend(
                body.split("data-t=\"")
                    .skip(1)
                    .filter_map(|r| r.split('"').next()),
            );
            for key in keys {
                for (lang, table) in [("en", en), ("zh", zh)] {
                    if !defined(table, key) {
                        missing.push(format!("{name}: {key} ({lang})"));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "words without a translation: {missing:?}"
        );
    }
}
