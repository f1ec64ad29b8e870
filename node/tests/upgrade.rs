//! A forkless runtime upgrade under traffic, made as docs/operations.md ("Versions and
//! upgrades") tells an operator to make one. The local network (three validators, two
//! hosts) runs this runtime; Bob's engine sends to Charlie four messages a second while the
//! privileged origin authorizes the next runtime version (this runtime with `spec_version`
//! one higher, built by runtime/build.rs) and its blob is handed in. Every node runs it without a
//! restart, finality goes on, and every message sent before, during and after is shown to
//! Charlie and final in Bob's history, neither client restarted.
//!
//! The upgrade carries a real migration: the keys and hosts pallets' version 1, which
//! takes deposits for devices and host choices kept from before deposits. The chain is
//! set back to version 0 of both first (as a chain from before them would be), and the
//! genesis accounts' unpaid devices and choices pay in the new runtime's first block.

mod common;

use codec::Encode;
use common::*;
use frame_support::traits::tokens::IdAmount;
use jsonrpsee::{core::client::ClientT, rpc_params};
use quarks_client::{
	chain::Wait,
	database::MessageState,
	engine::{Engine, Target},
	keystore::Identity,
};
use quarks_runtime::{RuntimeCall, UncheckedExtrinsic};
use sp_core::H256;
use sp_io::hashing::{blake2_256, twox_128};
use sp_keyring::Sr25519Keyring;
use std::{
	sync::{
		atomic::{AtomicBool, AtomicUsize, Ordering},
		Arc, Mutex,
	},
	time::Duration,
};

const LIMIT: Duration = Duration::from_secs(120);
/// How long a wait on finality may take on a loaded machine, as `wait_finalized` allows.
const FINALITY: Duration = Duration::from_secs(300);

/// The `spec_version` of the runtime `node` runs at its best block.
async fn spec_version(node: &Node) -> u32 {
	let version: serde_json::Value =
		node.rpc.request("state_getRuntimeVersion", rpc_params![]).await.expect("a version");
	version["specVersion"].as_u64().and_then(|v| u32::try_from(v).ok()).expect("specVersion")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runtime_is_upgraded_under_traffic_and_no_message_is_lost() {
	let _machine = exclusive();
	let next = quarks_runtime::rehearsal::WASM_BINARY
		.expect("the rehearsal runtime is built (not with SKIP_WASM_BUILD)");
	let now = quarks_runtime::VERSION.spec_version;
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, dave, ferdie) = start_local_network(dir.path()).await;
	let dir = dir.path();
	// Alice holds the privileged key; Bob and Charlie chat, each through their own node.
	let bob = Arc::new(session(dir, &validators[0], "bob", Identity::development("Bob")).await);
	let charlie = session(dir, &validators[1], "charlie", Identity::development("Charlie")).await;
	let charlie_account = charlie.account().clone();
	charlie.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("key package");
	bob.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Bob's device");
	bob.conversation_with(&charlie_account, &mut |_| {}).await.expect("a conversation");
	// (Charlie reads for longer than the test can run.)
	let shown = read_as(charlie, LIMIT * 10, true);
	let (engine, mut events) = Engine::start(bob.clone(), Duration::from_secs(5));
	// What the engine tells the person (a message not anchored, above all).
	let notices: Arc<Mutex<Vec<String>>> = Arc::default();
	tokio::spawn({
		let notices = notices.clone();
		async move {
			while let Some(event) = events.recv().await {
				if let quarks_client::engine::Event::Notice(text) = event {
					notices.lock().expect("notices").push(text);
				}
			}
		}
	});
	tokio::time::sleep(Duration::from_secs(2)).await; // Charlie's subscriptions open.

	let stop = Arc::new(AtomicBool::new(false));
	let count = Arc::new(AtomicUsize::new(0));
	let to = Target::Person(charlie_account.clone());
	let sending = tokio::spawn({
		let (engine, stop, count) = (engine.clone(), stop.clone(), count.clone());
		async move {
			let mut sent = Vec::new();
			while !stop.load(Ordering::Relaxed) {
				let text = format!("message {}", sent.len());
				// Sending waits for no block: an upgrade must not make it fail.
				sent.push(engine.send(&to, &text).await.expect("sent").hash);
				count.store(sent.len(), Ordering::Relaxed);
				tokio::time::sleep(Duration::from_millis(250)).await;
			}
			sent
		}
	});
	tokio::time::sleep(Duration::from_secs(5)).await;

	let nodes = [&validators[0], &validators[1], &validators[2], &dave, &ferdie];
	for node in nodes {
		assert_eq!(spec_version(node).await, now, "{} before the upgrade", node.name);
	}

	// A chain from before deposits: keys and hosts at storage version 0, Alice's genesis
	// device and choice unpaid.
	let alice = Sr25519Keyring::Alice.to_account_id();
	let deposits = |pallet: &str| {
		let mut key = [twox_128(pallet.as_bytes()), twox_128(b"Deposits")].concat();
		key.extend(sp_io::hashing::blake2_128(alice.as_ref()));
		key.extend(alice.encode());
		key
	};
	let version =
		|pallet: &str| [twox_128(pallet.as_bytes()), twox_128(b":__STORAGE_VERSION__:")].concat();
	let items = ["Keys", "Hosts"].map(|pallet| (version(pallet), 0u16.encode())).to_vec();
	let set_storage = RuntimeCall::System(frame_system::Call::set_storage { items });
	let sudo = pallet_sudo::Call::sudo { call: Box::new(set_storage) };
	validators[0].submit(Sr25519Keyring::Alice, RuntimeCall::Sudo(sudo)).await;
	for pallet in ["Keys", "Hosts"] {
		// As long as finality may take (`wait_finalized`), not only the test's other waits.
		wait_until(&format!("{pallet} at storage version 0"), FINALITY, || async {
			validators[0].finalized_storage::<u16>(version(pallet)).await == Some(0)
		})
		.await;
		let held: Option<u128> = validators[0].finalized_storage(deposits(pallet)).await;
		assert_eq!(held, None, "Alice's genesis state in {pallet} holds no deposit");
	}

	// The upgrade as docs/operations.md tells it: the privileged origin authorizes the
	// blob's hash, then anyone hands in the blob, which the chain takes for that hash only.
	let code_hash = blake2_256(next).into();
	let authorize = RuntimeCall::System(frame_system::Call::authorize_upgrade { code_hash });
	let sudo = pallet_sudo::Call::sudo { call: Box::new(authorize) };
	validators[0].submit(Sr25519Keyring::Alice, RuntimeCall::Sudo(sudo)).await;
	let authorized = [twox_128(b"System"), twox_128(b"AuthorizedUpgrade")].concat();
	wait_until("the upgrade authorized", LIMIT, || async {
		let authorization: Option<(H256, bool)> =
			validators[0].finalized_storage(authorized.clone()).await;
		authorization.is_some_and(|(hash, _)| hash == code_hash)
	})
	.await;
	let apply = frame_system::Call::apply_authorized_upgrade { code: next.to_vec() };
	let blob = UncheckedExtrinsic::new_bare(RuntimeCall::System(apply)).encode();
	let _: H256 = validators[0]
		.rpc
		.request("author_submitExtrinsic", rpc_params![sp_core::Bytes(blob)])
		.await
		.expect("the pool takes the authorized blob");
	for node in nodes {
		wait_until(&format!("{} runs spec version {}", node.name, now + 1), LIMIT, || async {
			spec_version(node).await == now + 1
		})
		.await;
	}
	let upgraded_at = validators[0].best_number().await;
	let sent_before = count.load(Ordering::Relaxed);

	// Traffic goes on after it (20 messages more), then finality passes it on every node.
	wait_until("20 messages sent after the upgrade", LIMIT, || async {
		assert!(!sending.is_finished(), "the sender stopped: a send failed");
		count.load(Ordering::Relaxed) >= sent_before + 20
	})
	.await;
	stop.store(true, Ordering::Relaxed);
	let sent = sending.await.expect("the sender");
	wait_finalized(&nodes, upgraded_at + 5).await;

	// Nothing accepted is lost or left unanchored; those sent after every node ran the new
	// runtime were anchored by it.
	let missing = || {
		let shown = shown.lock().expect("shown").clone();
		let not_shown: Vec<usize> =
			(0..sent.len()).filter(|&i| !shown.contains_key(&sent[i])).collect();
		let not_final: Vec<usize> = (0..sent.len())
			.filter(|&i| !bob.database.is_final(&sent[i]).unwrap_or(false))
			.collect();
		(not_shown, not_final)
	};
	let all_there = tokio::time::timeout(LIMIT, async {
		while missing() != (vec![], vec![]) {
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	})
	.await;
	let (not_shown, not_final) = missing();
	assert!(
		all_there.is_ok(),
		"of {} messages ({} sent before every node upgraded, at block {upgraded_at}), not \
		 shown to Charlie: {not_shown:?}; not final in Bob's history: {not_final:?}; \
		 notices: {:?}",
		sent.len(),
		sent_before,
		notices.lock().expect("notices"),
	);
	let group = bob.database.direct(&charlie_account).expect("reads").expect("a conversation");
	let history = bob.database.history(group, None, 10_000).expect("reads");
	for hash in &sent[sent_before..] {
		let message = history.iter().find(|m| m.hash == *hash).expect("in the history");
		let after = matches!(message.state, MessageState::Final(block) if block > upgraded_at);
		assert!(after, "{hash:?} sent after the upgrade: {:?}", message.state);
	}
	// The migration ran in the new runtime's first block: both pallets at version 1, and
	// Alice holds the documented deposits (docs/operations.md, "What a new user needs").
	let documented = [("Keys", 2_444_000_000u128), ("Hosts", 1_273_000_000)];
	for (pallet, deposit) in documented {
		let at = validators[0].finalized_storage::<u16>(version(pallet)).await;
		assert_eq!(at, Some(1), "{pallet} migrated");
		let held: Option<u128> = validators[0].finalized_storage(deposits(pallet)).await;
		assert_eq!(held, Some(deposit), "Alice's deposit in {pallet}");
	}
	// And her balance holds them: two holds, of those amounts.
	let mut holds_key = [twox_128(b"Balances"), twox_128(b"Holds")].concat();
	holds_key.extend(sp_io::hashing::blake2_128(alice.as_ref()));
	holds_key.extend(alice.encode());
	let holds: Vec<IdAmount<quarks_runtime::RuntimeHoldReason, u128>> =
		validators[0].finalized_storage(holds_key).await.unwrap_or_default();
	let mut amounts: Vec<u128> = holds.iter().map(|hold| hold.amount).collect();
	amounts.sort_unstable();
	assert_eq!(amounts, [1_273_000_000, 2_444_000_000], "Alice's holds: {holds:?}");
	let said = notices.lock().expect("notices").clone();
	assert!(!said.iter().any(|n| n.contains("not anchored")), "{said:?}");
}
