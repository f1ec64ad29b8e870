//! Nothing stuck in "sending": a message no node took (its node refused it, its connection
//! was down, the client stopped mid-send) is kept sealed and recorded, and a client that
//! starts again hands the very envelope to the node: the recipient reads it once, and the
//! sender's history holds it once, anchored.

mod common;

use common::*;
use futures::{SinkExt, StreamExt};
use quarks_client::{
	chain::{Chain, Wait},
	database::MessageState,
	inbox::{ReadOptions, Update},
	keystore::{Identity, Keystore},
	messenger::Messenger,
	send::Notary,
};
use std::{
	path::Path,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	time::Duration,
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as Frame;

const PASSPHRASE: &str = "sending test passphrase";

/// A JSON-RPC proxy in front of a node that, while `refuse` is set, answers every
/// envelope submission with the node's own rate-limit error instead of passing it on.
async fn refusing_proxy(upstream: String, refuse: Arc<AtomicBool>) -> String {
	let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
	let url = format!("ws://{}", listener.local_addr().expect("bound"));
	tokio::spawn(async move {
		while let Ok((socket, _)) = listener.accept().await {
			let (upstream, refuse) = (upstream.clone(), refuse.clone());
			tokio::spawn(async move {
				let Ok(client) = tokio_tungstenite::accept_async(socket).await else { return };
				let Ok((node, _)) = tokio_tungstenite::connect_async(&upstream).await else {
					return;
				};
				let (mut to_client, mut from_client) = client.split();
				let (mut to_node, mut from_node) = node.split();
				let (replies, mut answers) = tokio::sync::mpsc::unbounded_channel::<Frame>();
				let refusals = replies.clone();
				tokio::spawn(async move {
					while let Some(Ok(frame)) = from_node.next().await {
						let _ = replies.send(frame);
					}
				});
				tokio::spawn(async move {
					while let Some(frame) = answers.recv().await {
						if to_client.send(frame).await.is_err() {
							break;
						}
					}
				});
				while let Some(Ok(frame)) = from_client.next().await {
					if let Frame::Text(text) = &frame {
						let call: serde_json::Value =
							serde_json::from_str(text.as_str()).unwrap_or_default();
						if refuse.load(Ordering::SeqCst)
							&& call["method"] == "quarks_submitEnvelope"
						{
							let error = serde_json::json!({
								"jsonrpc": "2.0",
								"id": call["id"],
								"error": { "code": -32999, "message": "RPC rate limit exceeded" },
							});
							let _ = refusals.send(Frame::Text(error.to_string().into()));
							continue;
						}
					}
					if to_node.send(frame).await.is_err() {
						break;
					}
				}
			});
		}
	});
	url
}

async fn alice_through(dir: &Path, url: &str, create: bool) -> Messenger {
	let path = dir.join("alice.json");
	let keystore = if create {
		Keystore::create(&path, PASSPHRASE, Identity::development("Alice"), 10)
	} else {
		Keystore::open(&path, PASSPHRASE)
	}
	.expect("keystore");
	let chain = Chain::connect(url).await.expect("connects");
	Messenger::new(chain, keystore).expect("messenger")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_no_node_took_goes_again_after_a_restart_and_arrives_once() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let node = &validators[0];
	let refuse = Arc::new(AtomicBool::new(false));
	let proxy = refusing_proxy(format!("ws://127.0.0.1:{}", node.rpc_port), refuse.clone()).await;
	let bob = client_session(dir.path(), node, "Bob").await;
	let bob_account = bob.account().clone();
	bob.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Bob's key package");

	let alice = Arc::new(alice_through(dir.path(), &proxy, true).await);
	let first = alice.send_direct(&bob_account, "before the refusal").await.expect("sends");
	let group = alice.database.direct(&bob_account).expect("reads").expect("a conversation");
	Notary::start(alice.clone()).notarize(first).await.expect("answers").expect("anchored");

	refuse.store(true, Ordering::SeqCst);
	let refused = alice.send_group(group, "sent while refused").await;
	assert!(refused.is_err(), "the proxy refuses submissions");
	let history = alice.database.history(group, None, 10).expect("reads");
	let kept = history.iter().find(|m| m.text == "sent while refused").expect("recorded");
	assert!(matches!(&kept.state, MessageState::Failed(reason) if reason.contains("rate limit")));
	let hash = kept.hash;
	drop(alice);

	// The client starts again; the node takes submissions again.
	refuse.store(false, Ordering::SeqCst);
	let alice = Arc::new(alice_through(dir.path(), &proxy, false).await);
	let outcomes = alice.resend_unsent().await.expect("resends");
	assert_eq!(outcomes.len(), 1, "only the refused message");
	let (resent, outcome) = outcomes.into_iter().next().expect("one");
	let sent = outcome.expect("the node takes it now");
	assert_eq!((resent, sent.hash), (hash, hash), "the very envelope");
	Notary::start(alice.clone()).notarize(sent).await.expect("answers").expect("anchored");
	assert!(alice.resend_unsent().await.expect("resends").is_empty(), "nothing left to send");

	// Bob reads both, each once.
	let mut texts = Vec::new();
	let options = ReadOptions {
		follow: true,
		count: Some(2),
		timeout: Some(Duration::from_secs(120)),
		acknowledge: false,
		sync_every: None,
		update_every: None,
	};
	bob.read_mail(options, &mut |update| {
		if let Update::Shown(received) = update {
			if let Some((_, quarks_client::seal::Content::Text(text))) = received.letter() {
				texts.push(text.clone());
			}
		}
	})
	.await
	.expect("Bob reads");
	texts.sort();
	assert_eq!(texts, ["before the refusal", "sent while refused"]);
	let history = alice.database.history(group, None, 10).expect("reads");
	let copies: Vec<_> = history.iter().filter(|m| m.text == "sent while refused").collect();
	assert_eq!(copies.len(), 1, "{history:?}");
	assert!(matches!(copies[0].state, MessageState::Anchored(_) | MessageState::Final(_)));
}
