//! The web app's files (client/cli/web), built into the binary: the page works with no
//! Internet and nothing to install. Hand-written modern JavaScript, no framework: a few
//! hundred lines over the JSON API, with no build step and no dependency to keep current.

use super::Served;
use axum::{
	http::header,
	response::{IntoResponse, Response},
	routing::get,
	Router,
};
use std::sync::Arc;

const INDEX: &str = include_str!("../../web/index.html");
const SCRIPT: &str = include_str!("../../web/app.js");
const STYLE: &str = include_str!("../../web/style.css");

/// Only this service's own files and API, never inline code, never framed by another page.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
	base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<Arc<Served>> {
	Router::new()
		.route("/", get(|| async { file("text/html; charset=utf-8", INDEX) }))
		.route("/app.js", get(|| async { file("text/javascript; charset=utf-8", SCRIPT) }))
		.route("/style.css", get(|| async { file("text/css; charset=utf-8", STYLE) }))
}

fn file(kind: &'static str, body: &'static str) -> Response {
	(
		[
			(header::CONTENT_TYPE, kind),
			(header::CONTENT_SECURITY_POLICY, POLICY),
			(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
			(header::REFERRER_POLICY, "no-referrer"),
			(header::CACHE_CONTROL, "no-store"),
		],
		body,
	)
		.into_response()
}
