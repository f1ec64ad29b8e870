//! `quarks serve`: this identity's engine as a local service, for bots and the web app — a
//! JSON API and a WebSocket event stream (docs/api.md). The same library, database and
//! rules as the terminal chat; this module only speaks HTTP.
//!
//! It also serves the web app (client/cli/web, built into the binary).
//!
//! Only the one who started it may drive it: it listens on loopback unless told
//! otherwise, every API request carries the secret token printed at start (as
//! `Authorization: Bearer`; the event stream, which a browser opens without headers, as
//! `?token=`), and requests naming another Host (DNS rebinding) or coming from a page of
//! another origin (CSRF) are refused before the token is even looked at.

mod api;
mod events;
mod web;

use crate::{args::ServeArgs, input::*};
use axum::{
	extract::{Request, State},
	http::{header, StatusCode},
	middleware::{self, Next},
	response::{IntoResponse, Response},
	Json,
};
use quarks_client::engine::Engine;
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// What every request handler shares.
pub struct Served {
	engine: Arc<Engine>,
	events: tokio::sync::broadcast::Sender<Arc<String>>,
	/// Slots for open event streams ([`events::MAX_STREAMS`]).
	streams: Arc<tokio::sync::Semaphore>,
	token: String,
	/// The Host header values a request may carry: this service's own addresses.
	hosts: Vec<String>,
}

pub async fn run(cli: &crate::args::Cli, args: &ServeArgs) -> Fallible<()> {
	if args.allow_remote && args.public_host.is_empty() {
		return Err("--allow-remote needs --public-host <name:port>: the address others \
			 reach this service by (requests naming any other are refused)"
			.into());
	}
	if !args.listen.ip().is_loopback() && !args.allow_remote {
		return Err(format!(
			"refusing to listen on {}: whoever reaches it and learns the token reads and sends \
			 as you. Listen on 127.0.0.1, or pass --allow-remote behind your own TLS and firewall",
			args.listen
		)
		.into());
	}
	let messenger = Arc::new(messenger(cli).await?);
	let (engine, told) = Engine::start(messenger, Duration::from_secs(args.sync_every.max(1)));
	let listener = tokio::net::TcpListener::bind(args.listen).await?;
	let bound = listener.local_addr()?;
	let token = array_bytes::bytes2hex("", rand::random::<[u8; 32]>());
	if let Some(path) = &args.token_file {
		quarks_client::files::write_private(path, token.as_bytes())?;
	}
	let mut hosts = own_hosts(bound);
	hosts.extend(args.public_host.iter().cloned());
	let served = Arc::new(Served {
		engine,
		events: events::start(told),
		streams: events::slots(),
		token: token.clone(),
		hosts,
	});
	let app = api::routes()
		.merge(web::routes())
		.layer(middleware::from_fn_with_state(served.clone(), guard))
		.with_state(served);
	println!("serving on http://{bound}/#token={token}");
	println!("token: {token}");
	axum::serve(listener, app).await?;
	Ok(())
}

/// The Host values naming this service: its address, and `localhost` for a loopback one.
fn own_hosts(bound: SocketAddr) -> Vec<String> {
	let port = bound.port();
	let mut hosts = vec![bound.to_string()];
	if bound.ip().is_loopback() {
		hosts.extend([
			format!("localhost:{port}"),
			format!("127.0.0.1:{port}"),
			format!("[::1]:{port}"),
		]);
	}
	hosts
}

/// A refusal, as every error of the API: a status and a sentence.
pub struct Refusal(pub StatusCode, pub String);

impl IntoResponse for Refusal {
	fn into_response(self) -> Response {
		(self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
	}
}

fn refusal(status: StatusCode, why: impl Into<String>) -> Response {
	Refusal(status, why.into()).into_response()
}

/// Checks Host, Origin and the token, in that order, before any handler runs.
async fn guard(State(served): State<Arc<Served>>, request: Request, next: Next) -> Response {
	let headers = request.headers();
	let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
	let host = text(header::HOST).unwrap_or_default();
	if !served.hosts.iter().any(|h| h == host) {
		return refusal(
			StatusCode::FORBIDDEN,
			format!("this service answers requests for {} only, not {host:?}", served.hosts[0]),
		);
	}
	// Browsers send Origin on every cross-origin request and on WebSocket handshakes;
	// programs send none.
	if let Some(origin) = text(header::ORIGIN) {
		let own = |h: &String| origin == format!("http://{h}") || origin == format!("https://{h}");
		if !served.hosts.iter().any(own) {
			return refusal(StatusCode::FORBIDDEN, format!("requests from {origin} are refused"));
		}
	}
	// The web app's files hold no secret: the page takes the token from its address.
	if !request.uri().path().starts_with("/api/") {
		return next.run(request).await;
	}
	let bearer = text(header::AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer "));
	let in_query = request.uri().query().and_then(|query| {
		query
			.split('&')
			.find_map(|pair| pair.strip_prefix("token="))
			.filter(|_| request.uri().path() == events::PATH)
	});
	match bearer.or(in_query) {
		Some(given) if same(given, &served.token) => as_json(next.run(request).await).await,
		Some(_) => refusal(StatusCode::UNAUTHORIZED, "wrong token"),
		None => refusal(
			StatusCode::UNAUTHORIZED,
			"no token: send the one `quarks serve` printed as `Authorization: Bearer <token>`",
		),
	}
}

/// Every error of the API as `{"error": …}`: also the refusals axum makes itself before a
/// handler runs (a malformed body or path, a wrong method, an unknown route).
async fn as_json(response: Response) -> Response {
	let is_json = response
		.headers()
		.get(header::CONTENT_TYPE)
		.is_some_and(|kind| kind.as_bytes().starts_with(b"application/json"));
	let status = response.status();
	if is_json || !(status.is_client_error() || status.is_server_error()) {
		return response;
	}
	let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
	let said = String::from_utf8_lossy(&body);
	let why = if said.trim().is_empty() {
		status.canonical_reason().unwrap_or("refused").to_lowercase()
	} else {
		said.trim().to_owned()
	};
	refusal(status, why)
}

/// Compares tokens in time independent of where they differ (their length is no secret).
fn same(given: &str, token: &str) -> bool {
	given.len() == token.len()
		&& given.bytes().zip(token.bytes()).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
}
