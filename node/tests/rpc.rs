//! The public RPC endpoint (`--public-rpc-addr`) against a real `quarks-node` process:
//! callers from different loopback addresses (127.0.0.0/8 is all loopback on Linux), each
//! counted on its own.

mod common;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::{
	net::{IpAddr, SocketAddr},
	time::{Duration, Instant},
};
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::{tungstenite, WebSocketStream};

/// Substrate's rate-limit error code, which the public endpoint answers with too.
const RATE_LIMITED: i64 = -32999;

/// Finding 1 of docs/security.md: one address can neither hold the endpoint's connections
/// nor call without end, and others are served meanwhile. On `--rpc-port`, Substrate's
/// server, the same calls from one address are all answered (checked last).
#[tokio::test(flavor = "multi_thread")]
async fn the_public_endpoint_limits_each_caller_address() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let public: SocketAddr = ([127, 0, 0, 1], free_port()).into();
	let node = Node::start(
		dir.path(),
		NodeConfig {
			name: "public",
			chain: Some("dev"),
			prometheus_port: Some(free_port()),
			args: [
				"--public-rpc-addr",
				&public.to_string(),
				"--public-rpc-connections-per-ip",
				"2",
				"--public-rpc-calls-per-ip",
				"10",
				"--rpc-rate-limit-whitelisted-ips",
				"127.0.0.1/32",
				"--public-rpc-proxy",
				"127.0.0.6/32",
				"--public-rpc-idle-timeout",
				"2",
				"--rpc-max-request-size",
				"1",
			]
			.map(String::from)
			.to_vec(),
			..Default::default()
		},
	);
	wait_until("the public endpoint", Duration::from_secs(30), || async {
		node.logged("Running public JSON-RPC server")
	})
	.await;
	let (first, second, third) = (ip("127.0.0.2"), ip("127.0.0.3"), ip("127.0.0.4"));
	let (unlimited, proxy) = (ip("127.0.0.1"), ip("127.0.0.6"));

	// Calls: ten a minute per address, over any number of connections (here one each).
	let mut answers = Vec::new();
	let started = Instant::now();
	for _ in 0..14 {
		answers.push(post(first, public, "system_name", None).await);
	}
	// The budget refills one call every 6 s: only a machine that slow sees an 11th answer.
	let refilled = (started.elapsed().as_secs() / 6) as usize;
	let answered = answers.iter().take_while(|answer| answer.get("result").is_some()).count();
	assert_eq!(answered, (10 + refilled).min(14), "the first ten calls are answered: {answers:?}");
	for refused in &answers[answered..] {
		assert_eq!(refused["error"]["code"], RATE_LIMITED, "then refused: {refused}");
	}
	let other = post(second, public, "system_name", None).await;
	assert!(other.get("result").is_some(), "another address has its own budget: {other}");
	// Many envelopes in one call cost one call each: three listed leave seven calls; a list
	// larger than the whole budget costs the whole budget, and so does one whose length
	// the endpoint does not read (named parameters, which the method still takes).
	let batcher = ip("127.0.0.5");
	let listed = |n: usize| {
		let dummy =
			quarks_primitives::hosting::Submission { envelope: vec![0; 8], signature: [0; 64] };
		array_bytes::bytes2hex("0x", codec::Encode::encode(&vec![dummy; n]))
	};
	for (from, params) in [
		(ip("127.0.0.9"), json!([listed(11)])),
		(ip("127.0.0.10"), json!({ "submissions": listed(3) })),
	] {
		let started = Instant::now();
		let whole = call(from, public, "quarks_submitEnvelopes", params).await;
		assert_ne!(whole["error"]["code"], RATE_LIMITED, "a whole budget's worth: {whole}");
		let next = post(from, public, "system_name", None).await;
		if started.elapsed() < Duration::from_secs(6) {
			assert_eq!(next["error"]["code"], RATE_LIMITED, "the budget is spent: {next}");
		}
	}
	let started = Instant::now();
	let three = call(batcher, public, "quarks_submitEnvelopes", json!([listed(3)])).await;
	assert_ne!(three["error"]["code"], RATE_LIMITED, "three fit: {three}");
	let mut after = Vec::new();
	for _ in 0..9 {
		after.push(post(batcher, public, "system_name", None).await);
	}
	let refilled = (started.elapsed().as_secs() / 6) as usize;
	let answered = after.iter().filter(|answer| answer.get("result").is_some()).count();
	assert_eq!(answered, (7 + refilled).min(9), "the three counted as three: {after:?}");
	for n in 0..14 {
		let answer = post(unlimited, public, "system_name", None).await;
		assert!(answer.get("result").is_some(), "call {n} from a whitelisted address: {answer}");
	}

	// The client library's chain connection works through it (from the whitelisted address:
	// its start-up calls would spend a counted address's small test budget).
	let chain = quarks_client::chain::Chain::connect(&format!("ws://{public}"))
		.await
		.expect("the client connects to the public endpoint");
	assert_eq!(chain.genesis(), node.genesis_hash().await);
	assert_eq!(chain.block_time_ms().await.expect("a runtime call"), 1000);
	let methods: Value = post(unlimited, public, "rpc_methods", None).await;
	let listed = methods["result"]["methods"].as_array().expect("rpc_methods lists methods");
	assert!(listed.iter().any(|m| m == "quarks_submitEnvelope"), "{methods}");

	// Behind a proxy, calls are counted by the address it names; a caller cannot name one.
	let started = Instant::now();
	let proxied: Vec<Value> = futures::future::join_all(
		(0..12).map(|_| post(proxy, public, "system_name", Some("192.0.2.7"))),
	)
	.await;
	let refilled = (started.elapsed().as_secs() / 6) as usize;
	let answered = proxied.iter().filter(|answer| answer.get("result").is_some()).count();
	assert_eq!(answered, (10 + refilled).min(12), "one proxied caller, one budget: {proxied:?}");
	let neighbour = post(proxy, public, "system_name", Some("192.0.2.8")).await;
	assert!(neighbour.get("result").is_some(), "another proxied caller: {neighbour}");
	let spoofed = post(first, public, "system_name", Some("192.0.2.9")).await;
	assert_eq!(spoofed["error"]["code"], RATE_LIMITED, "X-Real-IP from a caller: {spoofed}");

	// Unsafe methods are refused, whatever the address; the operator's port serves them.
	for (method, params) in [
		("author_rotateKeys", json!([])),
		("author_insertKey", json!(["aura", "//Eve", format!("0x{}", "00".repeat(32))])),
		("author_hasKey", json!(["0x00", "aura"])),
		("author_removeExtrinsic", json!([[]])),
		("system_peers", json!([])),
		("system_addReservedPeer", json!(["/ip4/127.0.0.1/tcp/1"])),
		("offchain_localStorageGet", json!(["PERSISTENT", "0x00"])),
		("offchain_localStorageSet", json!(["PERSISTENT", "0x00", "0x00"])),
	] {
		let refused = call(unlimited, public, method, params.clone()).await;
		assert_eq!(refused["error"]["code"], -32601, "{method} on the public endpoint: {refused}");
		let served = call(unlimited, rpc_addr(&node), method, params).await;
		assert_ne!(served["error"]["code"], -32601, "{method} on the operator's port: {served}");
	}
	let operator = post(ip("127.0.0.1"), rpc_addr(&node), "author_rotateKeys", None).await;
	assert!(operator.get("result").is_some(), "{operator}");

	// Connections: two held per address; a third is answered 429 while another address
	// is served; closing one frees its place.
	let mut held = vec![websocket(third, public).await.expect("first connection")];
	held.push(websocket(third, public).await.expect("second connection"));
	for ws in &mut held {
		assert!(ws_call(ws, "system_name").await.get("result").is_some());
	}
	assert_refused(websocket(third, public).await, "a third connection from one address");
	let mut elsewhere = websocket(second, public).await.expect("another address connects");
	assert!(ws_call(&mut elsewhere, "system_name").await.get("result").is_some());
	held.pop().expect("held").close(None).await.expect("close");
	wait_until("the closed connection's place is free", Duration::from_secs(10), || async {
		websocket(third, public).await.is_ok()
	})
	.await;

	// Idle connections keep no places: two opened from one address and left silent are
	// closed after the idle limit, and the address connects again.
	let idler = ip("127.0.0.7");
	let mut silent = vec![connect(idler, public).await, connect(idler, public).await];
	assert_refused(websocket(idler, public).await, "two silent connections hold the places");
	for socket in &mut silent {
		let mut byte = [0u8; 1];
		let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut byte))
			.await
			.expect("closed within the idle limit");
		assert!(matches!(read, Ok(0) | Err(_)), "closed without an answer: {read:?}");
	}
	wait_until("the idle connections' places are free", Duration::from_secs(10), || async {
		websocket(idler, public).await.is_ok()
	})
	.await;

	// A body over --rpc-max-request-size (1 MiB here) is refused with 413 before it is read.
	let status = status_of_post(ip("127.0.0.8"), public, 1024 * 1024 + 1).await;
	assert!(status.starts_with("HTTP/1.1 413"), "a body past the limit: {status}");

	assert!(node.metric("quarks_public_rpc_refused_total", &[("reason", "calls")]) >= 3.0);
	assert!(node.metric("quarks_public_rpc_refused_total", &[("reason", "connections")]) >= 1.0);

	// What the public endpoint changes: Substrate's server answers every call.
	for n in 0..14 {
		let answer = post(first, rpc_addr(&node), "system_name", None).await;
		assert!(answer.get("result").is_some(), "call {n} on --rpc-port: {answer}");
	}
}

fn ip(text: &str) -> IpAddr {
	text.parse().expect("an IP address")
}

fn rpc_addr(node: &Node) -> SocketAddr {
	([127, 0, 0, 1], node.rpc_port).into()
}

/// A TCP connection to `to` from address `from`.
async fn connect(from: IpAddr, to: SocketAddr) -> TcpStream {
	let socket = TcpSocket::new_v4().expect("socket");
	socket.bind((from, 0).into()).expect("bind a loopback address");
	socket.connect(to).await.expect("connect")
}

/// One JSON-RPC call without parameters over HTTP, on a connection of its own, from
/// address `from`, with an `X-Real-IP` header if given.
async fn post(from: IpAddr, to: SocketAddr, method: &str, real_ip: Option<&str>) -> Value {
	request(from, to, method, json!([]), real_ip).await
}

/// `method` with `params`, over HTTP from address `from`.
async fn call(from: IpAddr, to: SocketAddr, method: &str, params: Value) -> Value {
	request(from, to, method, params, None).await
}

async fn request(
	from: IpAddr,
	to: SocketAddr,
	method: &str,
	params: Value,
	real_ip: Option<&str>,
) -> Value {
	let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
	let mut stream = connect(from, to).await;
	let real_ip = real_ip.map(|ip| format!("X-Real-IP: {ip}\r\n")).unwrap_or_default();
	let request = format!(
		"POST / HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\n{real_ip}\
		 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
		body.len()
	);
	stream.write_all(request.as_bytes()).await.expect("request");
	let mut response = String::new();
	tokio::time::timeout(Duration::from_secs(30), stream.read_to_string(&mut response))
		.await
		.expect("an answer in time")
		.expect("response");
	let (_, json) = response.split_once("\r\n\r\n").expect("an HTTP response");
	serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {response}"))
}

/// The status line the endpoint answers a POST announcing a `len`-byte body with, before
/// any of the body is sent.
async fn status_of_post(from: IpAddr, to: SocketAddr, len: usize) -> String {
	let mut stream = connect(from, to).await;
	let head = format!(
		"POST / HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\n\
		 Content-Length: {len}\r\n\r\n"
	);
	stream.write_all(head.as_bytes()).await.expect("request head");
	let mut answer = Vec::new();
	let mut byte = [0u8; 1];
	while !answer.ends_with(b"\r\n") {
		let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut byte))
			.await
			.expect("an answer before the body")
			.expect("reads");
		assert_eq!(read, 1, "closed before a status line: {answer:?}");
		answer.push(byte[0]);
	}
	String::from_utf8_lossy(&answer).trim_end().to_owned()
}

type Ws = WebSocketStream<TcpStream>;

/// A WebSocket to `to` from address `from`.
async fn websocket(from: IpAddr, to: SocketAddr) -> Result<Ws, tungstenite::Error> {
	let stream = connect(from, to).await;
	tokio_tungstenite::client_async(format!("ws://{to}"), stream).await.map(|(ws, _)| ws)
}

/// Asserts that a WebSocket handshake was answered 429.
fn assert_refused(handshake: Result<Ws, tungstenite::Error>, what: &str) {
	match handshake {
		Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429, "{what}"),
		other => panic!("{what}: a connection beyond the cap is refused with 429: {other:?}"),
	}
}

async fn ws_call(ws: &mut Ws, method: &str) -> Value {
	let call = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []});
	ws.send(tungstenite::Message::Text(call.to_string().into())).await.expect("send");
	loop {
		match ws.next().await.expect("an answer").expect("a message") {
			tungstenite::Message::Text(text) => {
				return serde_json::from_str(&text).expect("JSON answer")
			}
			_ => continue,
		}
	}
}
