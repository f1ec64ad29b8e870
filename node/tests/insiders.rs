//! Insiders on a real network on 127.0.0.1: what an ordinary member of a group, a host's
//! operator and a funded account with many others can do with nothing but their own
//! accounts, records and the chain's public calls.

mod common;

use codec::Encode;
use common::*;
use futures::StreamExt;
use jsonrpsee::{core::client::ClientT, rpc_params};
use quarks_client::{
	chain::{hash_value, Wait},
	inbox::Received,
	messenger::Messenger,
	queries,
	seal::Content,
};
use sp_core::{sr25519, Pair as _, H256};
use std::{
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
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
/// not connect there, by its direct push or its relay worker, however much mail is owed;
/// nor may the recipient's client, for its mail.
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

	// Whatever listens at that name, at every address it resolves to: a service on the
	// node's machine.
	let listener = tokio::net::TcpListener::bind((addresses[0], 0)).await.expect("listens");
	let port = listener.local_addr().expect("bound").port();
	let mut listeners = vec![listener];
	for address in &addresses[1..] {
		if let Ok(listener) = tokio::net::TcpListener::bind((*address, port)).await {
			listeners.push(listener);
		}
	}
	let connections = Arc::new(AtomicUsize::new(0));
	for listener in listeners {
		let counted = connections.clone();
		tokio::spawn(async move {
			while listener.accept().await.is_ok() {
				counted.fetch_add(1, Ordering::SeqCst);
			}
		});
	}

	// The development network with public endpoints only, its one host at that name.
	let output = std::process::Command::new(env!("CARGO_BIN_EXE_quarks-node"))
		.args(["build-spec", "--chain", "dev"])
		.output()
		.expect("quarks-node runs");
	let mut spec: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a spec");
	let hosts = &mut spec["genesis"]["runtimeGenesis"]["patch"]["hosts"];
	hosts["allowPrivateEndpoints"] = false.into();
	// A WebSocket endpoint, which the client dials as it is and the node posts to by HTTP.
	hosts["hosts"][0][1] = format!("ws://{name}:{port}").into_bytes().into();
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
		node.logged("may not be connected to, by its node's check"),
		"the relay worker tried, and did not post"
	);
	// Nor does Bob's client connect there for his mail: it says why.
	let refused = bob.fetch().await.expect_err("his only host may not be connected to");
	assert_eq!(
		connections.load(Ordering::SeqCst),
		0,
		"Bob's client connected to a private address"
	);
	assert!(refused.to_string().contains("is not a public address"), "{refused}");
}

/// Accounts of a funded attacker, each with a bound device, anchoring a fresh root at every
/// block through the node at `url` until `stop` is set: more than every anchor slot.
async fn fill_anchor_slots(
	url: String,
	genesis: H256,
	sybils: Vec<sr25519::Pair>,
	stop: Arc<AtomicBool>,
) {
	use quarks_runtime::RuntimeCall;
	let rpc = jsonrpsee::http_client::HttpClientBuilder::default()
		.max_concurrent_requests(256)
		.build(url)
		.expect("a client");
	let mut last = 0;
	while !stop.load(Ordering::SeqCst) {
		let hash: H256 = rpc.request("chain_getBlockHash", rpc_params![]).await.expect("best");
		let header: serde_json::Value =
			rpc.request("chain_getHeader", rpc_params![hash]).await.expect("its header");
		let number = header["number"].as_str().and_then(|n| n.strip_prefix("0x")).unwrap_or("0");
		let best = u64::from_str_radix(number, 16).expect("a block number");
		if best == last {
			tokio::time::sleep(Duration::from_millis(100)).await;
			continue;
		}
		last = best;
		// Mortal for 4 blocks: of equal priority, the pool takes first what expires first.
		let era = (sp_runtime::generic::Era::mortal(4, best), hash);
		let submissions: Vec<_> = sybils
			.iter()
			.enumerate()
			.map(|(i, sybil)| {
				let root = H256::from_low_u64_be(best << 32 | i as u64);
				let call = RuntimeCall::Messaging(pallet_quarks_messaging::Call::anchor {
					root,
					count: 1,
				});
				let (rpc, sybil) = (rpc.clone(), sybil.clone());
				async move {
					// Counting its transactions in the pool: one that expired unincluded frees
					// its nonce again.
					let who = address(&sybil.public().into());
					let nonce: u32 = rpc
						.request("system_accountNextIndex", rpc_params![who])
						.await
						.expect("a nonce");
					let xt = signed_extrinsic_with(call, &sybil, nonce, genesis, era, 0);
					let submitted: Result<H256, _> = rpc
						.request("author_submitExtrinsic", rpc_params![sp_core::Bytes(xt.encode())])
						.await;
					submitted.is_ok()
				}
			})
			.collect();
		futures::stream::iter(submissions).buffer_unordered(256).collect::<Vec<_>>().await;
	}
}

/// A funded attacker with 400 accounts, each with a bound device, anchors from every one
/// of them at every block: every anchor slot (341 a block) is taken, as long as it pays.
/// Of equal priority, the pool takes first what expires first, and the attacker's
/// transactions live 4 blocks: an untipped anchor waited 31 blocks. Honest mail still
/// flows, because the client bids for its anchor once blocks pass it by: each of
/// Alice's letters to Bob is anchored within the hosts' 10-block wait for pending mail,
/// and Bob reads it.
#[tokio::test(flavor = "multi_thread")]
async fn sybils_filling_every_anchor_slot_do_not_stop_honest_mail() {
	use frame_support::traits::Get;
	use quarks_runtime::{BalancesCall, RuntimeCall, UNIT};
	use sp_core::ed25519;
	use sp_keyring::Sr25519Keyring::{Alice, Ferdie};
	const SYBILS: usize = 400;
	let _guard = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let node = Node::start(
		dir.path(),
		NodeConfig {
			name: "alice",
			chain: Some("dev"),
			validator: true,
			dev_key: Some("alice"),
			node_key: Some(1),
			rpc_port: Some(9944),
			args: [
				"--host",
				&account(Alice).to_string(),
				"--pool-limit",
				"100000",
				"--rpc-max-connections",
				"1000",
			]
			.map(String::from)
			.to_vec(),
			..Default::default()
		},
	);
	wait_finalized(&[&node], 1).await;
	let bob = client_session(dir.path(), &node, "Bob").await;
	bob.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Bob's key package");
	let alice = Arc::new(client_session(dir.path(), &node, "Alice").await);
	// The conversation exists before the flood: its letters need anchors only.
	let before = alice.send_direct(bob.account(), "before the flood").await.expect("sent");
	assert_eq!(text(&receive(&bob, before.hash).await), "before the flood");

	// The attacker's accounts: funded in one batch, then each binds a device of its own.
	let sybils: Vec<sr25519::Pair> = (0..SYBILS)
		.map(|i| sr25519::Pair::from_seed(&sp_io::hashing::blake2_256(&(i as u32).to_le_bytes())))
		.collect();
	let transfers = sybils
		.iter()
		.map(|s| {
			RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
				dest: sp_runtime::MultiAddress::Id(s.public().into()),
				value: 100 * UNIT,
			})
		})
		.collect();
	node.submit(Ferdie, RuntimeCall::Utility(pallet_utility::Call::batch_all { calls: transfers }))
		.await;
	let funded = node.best_number().await + 2;
	wait_finalized(&[&node], funded).await;
	let genesis = node.genesis_hash().await;
	let expires_at = node.best_number().await + 10_000;
	let bindings = sybils.iter().map(|sybil| {
		let device = ed25519::Pair::from_seed(&sp_io::hashing::blake2_256(&sybil.public().0));
		let who: quarks_runtime::AccountId = sybil.public().into();
		let proof = device.sign(&quarks_primitives::device_proof_payload(&who)).0;
		let call = RuntimeCall::Keys(pallet_quarks_keys::Call::add_device {
			device: device.public().0,
			proof,
			key_package: vec![1; 8].try_into().expect("short"),
			expires_at,
		});
		node.submit_extrinsic(signed_extrinsic(call, sybil, 0, genesis))
	});
	for bound in futures::stream::iter(bindings).buffer_unordered(64).collect::<Vec<_>>().await {
		bound.expect("the pool takes a binding");
	}
	wait_until("every attacker account has a device", LIMIT, || async {
		let mut bound = 0;
		for sybil in &sybils {
			let who: quarks_runtime::AccountId = sybil.public().into();
			bound += node.runtime_call::<bool>("HostingApi_has_device", who).await as usize;
		}
		bound == SYBILS
	})
	.await;

	// What one anchor costs, for docs/security.md's figures.
	let anchor_fee = || async {
		let fields = vec![hash_value(&H256::repeat_byte(1)), Value::u128(1)];
		let fee = alice.chain.fee(alice.pair(), quarks_client::chain::vocabulary::ANCHOR, fields);
		fee.await.expect("a fee")
	};
	let fee_before = anchor_fee().await;

	// The flood, and Alice's letters in it.
	let stop = Arc::new(AtomicBool::new(false));
	let flood = {
		let (stop, sybils) = (stop.clone(), sybils.clone());
		let url = format!("http://127.0.0.1:{}", node.rpc_port);
		tokio::spawn(fill_anchor_slots(url, genesis, sybils, stop))
	};
	let started = node.best_number().await;
	wait_finalized(&[&node], started + 3).await;
	let mut waits = Vec::new();
	for n in 0..3 {
		let sent = alice.send_direct(bob.account(), &format!("letter {n} in the flood")).await;
		let sent = sent.expect("the node takes it");
		let hash = sent.hash;
		let at = node.best_number().await;
		let notarized = quarks_client::send::Notary::start(alice.clone()).notarize(sent).await;
		let anchored = notarized.expect("answers").expect("anchored");
		waits.push(anchored.saturating_sub(at));
		assert_eq!(text(&receive(&bob, hash).await), format!("letter {n} in the flood"));
	}
	stop.store(true, Ordering::SeqCst);
	flood.await.expect("the flood ends");
	let ended = node.best_number().await;

	// The slots were full: at least half the blocks of the flood held as many anchor transactions as a
	// block has anchor slots (an attacker's second anchor in a block fails, but takes the
	// block's room all the same).
	let slots: u32 =
		<quarks_runtime::Runtime as pallet_quarks_messaging::Config>::MaxAnchorsPerBlock::get();
	let rpc = jsonrpsee::http_client::HttpClientBuilder::default()
		.build(format!("http://127.0.0.1:{}", node.rpc_port))
		.expect("a client");
	let (mut full, mut counts) = (0, Vec::new());
	for number in started + 3..ended {
		let hash: H256 =
			rpc.request("chain_getBlockHash", rpc_params![number]).await.expect("a block");
		let block: serde_json::Value =
			rpc.request("chain_getBlock", rpc_params![hash]).await.expect("its body");
		// All but the timestamp's inherent.
		let transactions = block["block"]["extrinsics"].as_array().map_or(0, |x| x.len() - 1);
		full += (transactions >= slots as usize) as u32;
		counts.push(transactions);
	}
	eprintln!("transactions per block in the flood: {counts:?}; letters anchored after {waits:?}");
	eprintln!("an anchor's fee: {fee_before} before the flood, {} after", anchor_fee().await);
	assert!(waits.iter().all(|w| *w <= 10), "anchored after {waits:?} blocks");
	let blocks = ended - started - 3;
	assert!(full * 2 >= blocks, "only {full} of {blocks} blocks were full: {counts:?}");
}
