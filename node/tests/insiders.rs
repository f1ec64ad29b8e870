//! Insiders on a real network on 127.0.0.1: what an ordinary member of a group or a host's
//! operator can do with nothing but their own accounts, records and the chain's public
//! calls.

mod common;

use common::*;
use quarks_client::{
	chain::{hash_value, Wait},
	inbox::Received,
	messenger::Messenger,
	queries,
	seal::Content,
};
use sp_core::{Pair as _, H256};
use std::{
	sync::{atomic::Ordering, Arc},
	time::{Duration, Instant},
};
use subxt::dynamic::Value;

const LIMIT: Duration = Duration::from_secs(120);

/// Opens everything `who`'s hosts hold until `hash` opens; returns it.
async fn receive(who: &Messenger, hash: H256) -> Received {
	let deadline = Instant::now() + LIMIT;
	loop {
		for entry in who.fetch().await.expect("mailboxes answer") {
			let opened = who.open_mail(&entry).await;
			if entry.hash != hash {
				continue;
			}
			match opened {
				Ok(received) => return received,
				Err(e) if e.may_resolve() => {}
				Err(e) => panic!("{hash:?} rejected: {e}"),
			}
		}
		assert!(Instant::now() < deadline, "{hash:?} never arrived");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

fn text(received: &Received) -> &str {
	match received.letter() {
		Some((_, Content::Text(text))) => text,
		Some((_, other)) => panic!("expected a text, got {other:?}"),
		None => panic!("expected a letter, got {:?}", received.delivered),
	}
}

/// One member orders, on chain, a commit that is no commit, after binding a device whose
/// key package is junk. The group must go on: its other members still talk, and so does
/// the member who tried.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_cannot_stall_a_group() {
	let _guard = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let alice = client_session(dir.path(), &validators[0], "Alice").await;
	let bob = client_session(dir.path(), &validators[1], "Bob").await;
	let charlie = client_session(dir.path(), &validators[2], "Charlie").await;
	for member in [&alice, &bob, &charlie] {
		member.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("registered");
	}
	let group = alice
		.create_group(&[bob.account().clone(), charlie.account().clone()], &mut |_| {})
		.await
		.expect("group created");
	let sent = alice.send_group(group, "before").await.expect("sent");
	assert_eq!(text(&receive(&bob, sent.hash).await), "before");
	assert_eq!(text(&receive(&charlie, sent.hash).await), "before");

	// Charlie binds a second device whose key package is junk (the chain takes any bytes),
	// so no commit that adds his devices could be built with it...
	let junk_device = sp_core::ed25519::Pair::from_seed(&[42; 32]);
	let proof_message = quarks_primitives::device_proof_payload(charlie.account());
	let expires = charlie.chain.finalized().await.expect("reads") + 10_000;
	let fields = vec![
		Value::from_bytes(junk_device.public().0),
		Value::from_bytes(junk_device.sign(&proof_message).0),
		Value::from_bytes(b"not a key package"),
		Value::u128(expires.into()),
	];
	charlie
		.chain
		.submit(
			charlie.pair(),
			quarks_client::chain::vocabulary::ADD_DEVICE,
			fields,
			Wait::Finalized,
			&mut |_| {},
		)
		.await
		.expect("the chain takes any non-empty bytes as a key package");

	// ... and, an ordinary member, has the chain order a commit that is no commit, once
	// the group's update interval allows one. (Before commits travelled in the call, he
	// sent a hash whose message nobody held, and the group was stuck for good: Alice's
	// next send failed with `Behind { chain: 2, device: 1 }`.)
	let info = queries::group_info(&charlie.chain, group).await.expect("reads").expect("exists");
	let roster = charlie.group_devices(group).expect("in it").1;
	let mut keys: Vec<[u8; 32]> = roster.iter().map(|d| d.signature_key).collect();
	keys.sort();
	let deadline = Instant::now() + LIMIT;
	loop {
		let fields = vec![
			Value::u128(group.into()),
			Value::u128(u128::from(info.epoch) + 1),
			Value::from_bytes(b"no commit at all"),
			Value::unnamed_composite(keys.iter().map(Value::from_bytes)),
			Value::unnamed_variant("None", []),
			Value::bool(false),
			hash_value(&H256::repeat_byte(0x5a)),
		];
		match charlie
			.chain
			.submit(
				charlie.pair(),
				quarks_client::chain::vocabulary::COMMIT,
				fields,
				Wait::Finalized,
				&mut |_| {},
			)
			.await
		{
			Ok(_) => break,
			Err(e) if e.is_pallet_error(quarks_client::chain::failures::UPDATE_TOO_SOON) => {
				assert!(Instant::now() < deadline, "the update interval never passed");
				tokio::time::sleep(Duration::from_secs(1)).await
			}
			Err(e) => panic!("the forged commit: {e}"),
		}
	}

	// The group goes on: Alice's client finds the commit does not apply and restarts the
	// group, leaving out the device whose key package is junk; everyone, Charlie included,
	// joins the new generation from its welcome.
	let after = alice.send_group(group, "after").await.expect("Alice still sends");
	let restarted = queries::commit_at(&alice.chain, group, info.epoch + 2)
		.await
		.expect("reads")
		.expect("recorded");
	assert!(restarted.restart && &restarted.committer == alice.account());
	assert_eq!(text(&receive(&bob, after.hash).await), "after");
	assert_eq!(text(&receive(&charlie, after.hash).await), "after");
	let reply = bob.send_group(group, "and Bob replies").await.expect("Bob still sends");
	assert_eq!(text(&receive(&charlie, reply.hash).await), "and Bob replies");
	assert_eq!(text(&receive(&alice, reply.hash).await), "and Bob replies");
	let authenticator = alice.epoch_authenticator(group).expect("in it");
	for member in [&bob, &charlie] {
		assert_eq!(member.epoch_authenticator(group).expect("in it"), authenticator, "no fork");
	}
	let (_, devices) = alice.group_devices(group).expect("in it");
	assert_eq!(devices.len(), 3, "one device each; the junk one is left out");

	// Charlie leaves, by the chain's call alone: his client keeps its MLS state. The next
	// letter comes with the commit that removes his device, so he cannot read it.
	let fields = vec![Value::u128(group.into())];
	charlie
		.chain
		.submit(
			charlie.pair(),
			quarks_client::chain::vocabulary::LEAVE,
			fields,
			Wait::Finalized,
			&mut |_| {},
		)
		.await
		.expect("left");
	let after_leaving = alice.send_group(group, "after Charlie left").await.expect("sent");
	assert_eq!(text(&receive(&bob, after_leaving.hash).await), "after Charlie left");
	let envelope = alice.store.get(&after_leaving.hash).expect("kept").expect("kept");
	let opened = charlie.open_envelope(&envelope).await;
	assert!(opened.is_err(), "a member who left read a later letter: {opened:?}");
	// And the group's creator holds its first epoch: no member can take it.
	let second = alice
		.create_group(&[bob.account().clone(), charlie.account().clone()], &mut |_| {})
		.await
		.expect("another group");
	assert!(queries::commit_at(&alice.chain, second, 1)
		.await
		.expect("reads")
		.is_some_and(|record| &record.committer == alice.account()));
}

/// A host's operator names its host by a name that resolves to a private address (here the
/// machine's own name, which /etc/hosts maps to a loopback address), on a network that
/// allows public endpoints only. The chain cannot resolve names and takes it. The node must
/// not connect there, by its direct push or its relay worker, however much mail is owed.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_named_for_a_private_address_gets_no_connection() {
	use quarks_primitives::endpoint::is_public_ip;
	use std::{net::ToSocketAddrs, sync::atomic::AtomicUsize};
	let _guard = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let name = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("the machine's name");
	let name = name.trim();
	let addresses: Vec<_> =
		(name, 0).to_socket_addrs().expect("resolves").map(|a| a.ip()).collect();
	assert!(
		!addresses.is_empty() && !addresses.iter().any(|ip| is_public_ip(*ip)),
		"this test needs the machine's name ({name}) to resolve to private addresses: {addresses:?}"
	);

	// Whatever listens at that name: a service on the node's machine.
	let listener = tokio::net::TcpListener::bind((addresses[0], 0)).await.expect("listens");
	let port = listener.local_addr().expect("bound").port();
	let connections = Arc::new(AtomicUsize::new(0));
	let counted = connections.clone();
	tokio::spawn(async move {
		while listener.accept().await.is_ok() {
			counted.fetch_add(1, Ordering::SeqCst);
		}
	});

	// The development network with public endpoints only, its one host at that name.
	let output = std::process::Command::new(env!("CARGO_BIN_EXE_quarks-node"))
		.args(["build-spec", "--chain", "dev"])
		.output()
		.expect("quarks-node runs");
	let mut spec: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a spec");
	let hosts = &mut spec["genesis"]["runtimeGenesis"]["patch"]["hosts"];
	hosts["allowPrivateEndpoints"] = false.into();
	hosts["hosts"][0][1] = format!("http://{name}:{port}").into_bytes().into();
	let spec_path = dir.path().join("public-only.json");
	std::fs::write(&spec_path, serde_json::to_vec(&spec).expect("JSON")).expect("written");
	let node = Node::start(
		dir.path(),
		NodeConfig {
			name: "alice",
			chain: Some(spec_path.to_str().expect("UTF-8")),
			validator: true,
			dev_key: Some("alice"),
			node_key: Some(1),
			..Default::default()
		},
	);
	wait_finalized(&[&node], 1).await;

	let bob = client_session(dir.path(), &node, "Bob").await;
	bob.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Bob's key package");
	let alice = Arc::new(client_session(dir.path(), &node, "Alice").await);
	let sent = alice.send_direct(bob.account(), "to a host at a private address").await;
	let sent = sent.expect("the node takes it: its hosts are the worker's to reach");
	quarks_client::send::Notary::start(alice.clone())
		.notarize(sent)
		.await
		.expect("answers")
		.expect("anchored");
	// The worker tries at the anchor's block and 1, 3 and 7 blocks after it.
	let anchored = node.finalized_number().await;
	wait_finalized(&[&node], anchored + 8).await;
	assert_eq!(connections.load(Ordering::SeqCst), 0, "the node connected to a private address");
	assert!(node.logged("not connecting to host endpoint"), "the node said why");
	assert!(
		node.logged("resolves to a private address"),
		"the relay worker tried, and did not post"
	);
}
