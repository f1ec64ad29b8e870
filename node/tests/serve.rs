//! `quarks serve` on a real network on 127.0.0.1, Alice's and Bob's identities each served
//! by the `quarks` binary.
//!
//! A bot: Bob's identity driven by the echo bot of docs/examples, which the test runs with
//! Node.js exactly as docs/api.md says. Alice names Bob from his invitation, sends over the
//! JSON API, and sees the bot's answer both on her event stream and in her history, her own
//! message final. Requests without the token, for another Host, or from another origin's
//! page are refused; so is listening beyond loopback, and an event stream beyond the cap.
//!
//! The web app: Alice and Bob each in a page of Debian's Chromium (driven by Playwright,
//! client/cli/web/test/browser.mjs), chatting, a message's notarization read from the chain
//! and its proof downloaded (then verified with the command line), a group made and a
//! member removed.

mod common;

use common::*;
use futures::StreamExt;
use serde_json::{json, Value};
use std::{
	io::{BufRead, BufReader},
	path::Path,
	process::Stdio,
	time::Duration,
};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};

const LIMIT: Duration = Duration::from_secs(90);

type EventStream =
	tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A running `quarks serve`, and a client of its API.
struct Served {
	serving: Serving,
	http: reqwest::Client,
}

impl Served {
	fn start(dir: &Path, node: &Node, who: &str) -> Served {
		Served { serving: Serving::start(dir, node, who), http: reqwest::Client::new() }
	}

	fn port(&self) -> &str {
		self.serving.base.rsplit(':').next().expect("a port")
	}

	/// The status and body of a request with the token.
	async fn answer(
		&self,
		method: reqwest::Method,
		path: &str,
		body: Option<Value>,
	) -> (u16, Value) {
		let mut request = self.http.request(method, format!("{}{path}", self.serving.base));
		request = request.bearer_auth(&self.serving.token);
		if let Some(body) = body {
			request = request.json(&body);
		}
		let answer = request.send().await.expect("an answer");
		let status = answer.status().as_u16();
		(status, answer.json().await.expect("JSON"))
	}

	async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
		let (status, body) = self.answer(method.clone(), path, body).await;
		assert!((200..300).contains(&status), "{method} {path}: {status} {body}");
		body
	}

	async fn get(&self, path: &str) -> Value {
		self.call(reqwest::Method::GET, path, None).await
	}

	async fn post(&self, path: &str, body: Value) -> Value {
		self.call(reqwest::Method::POST, path, Some(body)).await
	}

	/// Its event stream, opened as its own page would.
	async fn stream(&self) -> Result<EventStream, tokio_tungstenite::tungstenite::Error> {
		let url = format!("{}/api/events?token={}", self.serving.base, self.serving.token);
		let mut request = url.replacen("http", "ws", 1).into_client_request().expect("a request");
		let own_origin = HeaderValue::from_str(&self.serving.base).expect("a header");
		request.headers_mut().insert("origin", own_origin);
		Ok(tokio_tungstenite::connect_async(request).await?.0)
	}

	/// The status of `GET path` with these headers (and no token unless among them).
	async fn status_with(&self, path: &str, headers: &[(&str, &str)]) -> u16 {
		let mut request = self.http.get(format!("{}{path}", self.serving.base));
		for (name, value) in headers {
			request = request.header(*name, *value);
		}
		request.send().await.expect("an answer").status().as_u16()
	}
}

/// A fresh local network with Alice and Bob named on it, each served; the network runs as
/// long as the first value lives.
async fn alice_and_bob_serving(dir: &Path) -> ((Vec<Node>, Node, Node), Served, Served) {
	let network = start_local_network(dir).await;
	let node = &network.0[0];
	cli_identities(dir, node, &[("alice", "Alice"), ("bob", "Bob")]);
	let (alice, bob) = (Served::start(dir, node, "alice"), Served::start(dir, node, "bob"));
	(network, alice, bob)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_answers_over_the_api_and_strangers_are_refused() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let dir = dir.path();
	let (network, alice, bob) = alice_and_bob_serving(dir).await;
	let node = &network.0[0];

	// Beyond loopback only when told.
	let refused = quarks_command(dir, node, "alice")
		.args(["serve", "--listen", "0.0.0.0:0"])
		.output()
		.expect("quarks runs");
	assert!(!refused.status.success());
	let said = String::from_utf8_lossy(&refused.stderr);
	assert!(said.contains("refusing to listen on 0.0.0.0:0"), "{said}");

	// Only the one who started it drives it.
	let token = format!("Bearer {}", alice.serving.token);
	let wrong = format!("Bearer {}", bob.serving.token);
	let evil_host = format!("evil.example:{}", alice.port());
	assert_eq!(alice.status_with("/api/me", &[]).await, 401, "no token");
	assert_eq!(alice.status_with("/api/me", &[("authorization", &wrong)]).await, 401);
	assert_eq!(
		alice.status_with("/api/me", &[("authorization", &token), ("host", &evil_host)]).await,
		403,
		"a rebound DNS name"
	);
	assert_eq!(
		alice
			.status_with("/api/me", &[("authorization", &token), ("origin", "http://evil.example")])
			.await,
		403,
		"another origin's page"
	);
	let events = format!("/api/events?token={}", alice.serving.token);
	assert_eq!(alice.status_with(&events, &[("origin", "http://evil.example")]).await, 403);
	// Event streams are capped (docs/api.md: 16 open at once): one more is refused until
	// one closes; and an open stream is pinged (that a peer silent for 45 s loses its
	// stream is not waited for here).
	let mut streams = Vec::new();
	for _ in 0..16 {
		streams.push(alice.stream().await.expect("a stream within the cap"));
	}
	match alice.stream().await {
		Err(tokio_tungstenite::tungstenite::Error::Http(refused)) => {
			assert_eq!(refused.status(), 503, "{refused:?}")
		}
		other => panic!("a 17th stream: {:?}", other.map(drop)),
	}
	let _ = streams[0].close(None).await;
	streams.remove(0);
	let mut again =
		wait_for("a slot freed by a closed stream", LIMIT, || async { alice.stream().await.ok() })
			.await;
	let pinged = tokio::time::timeout(Duration::from_secs(30), async {
		while let Some(Ok(frame)) = again.next().await {
			if matches!(frame, Message::Ping(_)) {
				return true;
			}
		}
		false
	});
	assert_eq!(pinged.await, Ok(true), "an open stream is pinged within 30 s");
	drop((streams, again));

	let me = alice.get("/api/me").await;
	assert!(me["account"].as_str().is_some_and(|a| !a.is_empty()), "{me}");

	// Bob's identity is a bot: the example from the docs, run as they say.
	let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/echo-bot.mjs");
	let mut bot = std::process::Command::new("node")
		.args(["--experimental-websocket", &example.to_string_lossy()])
		.env("QUARKS_API", &bob.serving.base)
		.env("QUARKS_TOKEN", &bob.serving.token)
		.stdout(Stdio::piped())
		.spawn()
		.expect("node runs the echo bot");
	let mut said = BufReader::new(bot.stdout.take().expect("its output")).lines();
	let ready = said.next().and_then(Result::ok).unwrap_or_default();
	assert_eq!(ready, "echo bot ready");

	// Alice's event stream, then her message to Bob, named from his invitation.
	// (The slots the streams above held are freed as the service sees them closed.)
	let mut stream =
		wait_for("Alice's event stream", LIMIT, || async { alice.stream().await.ok() }).await;
	let link = bob.get("/api/invitation").await["link"].as_str().expect("a link").to_owned();
	let contact = alice.post("/api/contacts", json!({ "name": "bob", "who": link })).await;
	assert_eq!(contact["status"], "verified", "{contact}");
	let sent = alice.post("/api/messages", json!({ "to": "bob", "text": "ping" })).await;
	let group = sent["group"].as_u64().expect("the conversation");

	let answer = tokio::time::timeout(LIMIT, async {
		while let Some(frame) = stream.next().await {
			if let Ok(Message::Text(text)) = frame {
				let event: Value = serde_json::from_str(&text).expect("JSON events");
				if event["type"] == "message" && event["message"]["outgoing"] == false {
					return event["message"].clone();
				}
			}
		}
		panic!("the event stream ended")
	})
	.await
	.expect("the bot's answer on Alice's stream");
	assert_eq!(answer["text"], "echo: ping", "{answer}");
	assert_eq!(answer["group"].as_u64(), Some(group), "{answer}");
	let _ = stream.close(None).await;

	// Her history holds both, hers final.
	let path = format!("/api/conversations/{group}/messages");
	let history = wait_for("Alice's message final and the answer kept", LIMIT, || async {
		let page = alice.get(&path).await;
		let messages = page["messages"].as_array()?.clone();
		let final_ping = messages.iter().any(|m| m["text"] == "ping" && m["state"] == "final");
		let echo = messages.iter().any(|m| m["text"] == "echo: ping" && m["outgoing"] == false);
		(final_ping && echo).then_some(messages)
	})
	.await;
	assert!(history.iter().all(|m| m["group"].as_u64() == Some(group)), "{history:?}");
	let conversations = alice.get("/api/conversations").await;
	assert_eq!(conversations[0]["name"], "bob", "{conversations}");

	// New keys for Alice's device in the conversation; it goes on, and the bot follows.
	let updated = alice.post("/api/keys/update", json!({ "group": group })).await;
	assert_eq!(updated[0]["group"].as_u64(), Some(group), "{updated}");
	assert!(updated[0]["epoch"].as_u64().is_some_and(|epoch| epoch > 0), "{updated}");
	alice.post("/api/messages", json!({ "group": group, "text": "new keys" })).await;
	wait_for("the bot's answer after the key update", LIMIT, || async {
		let page = alice.get(&path).await;
		page["messages"].as_array()?.iter().any(|m| m["text"] == "echo: new keys").then_some(())
	})
	.await;

	// Blocking and unblocking.
	assert_eq!(alice.post("/api/contacts/bob/block", json!({})).await["left"], json!([]));
	alice.call(reqwest::Method::DELETE, "/api/contacts/bob/block", None).await;
	let (status, again) =
		alice.answer(reqwest::Method::DELETE, "/api/contacts/bob/block", None).await;
	assert_eq!(status, 404, "{again}");
	assert!(again["error"].as_str().is_some_and(|e| e.contains("was not blocked")), "{again}");

	// A device that is not Alice's, or the one she uses, is not removed (nor is a fee paid
	// for a refusal), and she is told why.
	let stranger = format!("/api/devices/0x{}", "11".repeat(32));
	let (status, refused) = alice.answer(reqwest::Method::DELETE, &stranger, None).await;
	assert_eq!(status, 404, "{refused}");
	assert!(refused["error"].as_str().is_some_and(|e| e.contains("not one of your")), "{refused}");
	let devices = alice.get("/api/devices").await;
	assert_eq!(devices.as_array().map(Vec::len), Some(1), "{devices}");
	let own = format!("/api/devices/{}", devices[0]["key"].as_str().expect("a key"));
	let (status, refused) = alice.answer(reqwest::Method::DELETE, &own, None).await;
	assert_eq!(status, 400, "{refused}");
	assert_eq!(alice.get("/api/devices").await, devices, "still bound");

	// Her hosts: the admitted ones, hers marked. She moves to one she had not chosen, and
	// the bot's next answer, which goes there, reaches her at once.
	let hosts = alice.get("/api/hosts").await;
	let (chosen, other): (Vec<&Value>, Vec<&Value>) =
		hosts.as_array().expect("a list").iter().partition(|h| h["chosen"] == true);
	assert!(!chosen.is_empty() && !other.is_empty(), "{hosts}");
	let none = Some(json!({ "hosts": [] }));
	assert_eq!(alice.answer(reqwest::Method::PUT, "/api/hosts", none).await.0, 400, "no host");
	let twice = Some(json!({ "hosts": [chosen[0]["operator"], chosen[0]["operator"]] }));
	assert_eq!(alice.answer(reqwest::Method::PUT, "/api/hosts", twice).await.0, 400, "twice");
	let new_host = other[0]["operator"].clone();
	alice.call(reqwest::Method::PUT, "/api/hosts", Some(json!({ "hosts": [new_host] }))).await;
	let hosts = alice.get("/api/hosts").await;
	let now: Vec<&Value> = hosts
		.as_array()
		.expect("a list")
		.iter()
		.filter(|h| h["chosen"] == true)
		.map(|h| &h["operator"])
		.collect();
	assert_eq!(now, vec![&new_host], "{hosts}");
	alice.post("/api/messages", json!({ "group": group, "text": "new host" })).await;
	wait_for("the bot's answer through Alice's new host", LIMIT, || async {
		let page = alice.get(&path).await;
		page["messages"].as_array()?.iter().any(|m| m["text"] == "echo: new host").then_some(())
	})
	.await;
	let _ = bot.kill();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_people_chat_in_the_web_app_in_a_real_browser() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let dir = dir.path();
	let (network, alice, bob) = alice_and_bob_serving(dir).await;
	let node = &network.0[0];
	let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/cli/web/test");
	assert!(
		web.join("node_modules/playwright-core").exists(),
		"Playwright is missing: scripts/setup.sh installs it (npm ci in {})",
		web.display()
	);
	// Where the screenshots go: docs/screenshots when asked, to update the docs.
	let screenshots = std::env::var_os("QUARKS_SCREENSHOTS")
		.map(std::path::PathBuf::from)
		.unwrap_or_else(|| dir.join("screenshots"));
	std::fs::create_dir_all(&screenshots).expect("a screenshot folder");
	let run = std::process::Command::new("node")
		.arg(web.join("browser.mjs"))
		.env("ALICE_URL", alice.serving.page())
		.env("BOB_URL", bob.serving.page())
		.env("SCREENSHOTS", &screenshots)
		.env("DOWNLOADS", dir)
		.output()
		.expect("node runs the browser test");
	let said =
		format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
	assert!(run.status.success(), "the browser test failed:\n{said}");
	assert!(said.contains("the web app works"), "{said}");
	for screen in ["chat", "chat-phone", "invitation", "notarization", "group"] {
		assert!(screenshots.join(format!("{screen}.png")).exists(), "no screenshot of {screen}");
	}
	// The proof Alice's page downloaded holds against the chain, for anyone.
	let proof = dir.join("proof.json");
	let verified = quarks(dir, node, "bob", &["verify-proof", &proof.to_string_lossy()]);
	assert!(verified.contains("message  Hi Alice, lunch at noon?"), "{verified}");
}
