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
        assert!(
            !INDEX.contains("http://") && !INDEX.contains("https://"),
            "nothing external"
        );
    }
}
