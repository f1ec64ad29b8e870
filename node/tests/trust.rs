//! The client believes no single node: in front of an honest node of the local network
//! sits a proxy that lies as its operator could — it withholds finality, serves a
//! justification or a header it altered, calls a block final that is not, or answers a read
//! from another block's state or of another key (another epoch's commit record), or leaves
//! a group's member out of a listing. The client refuses each with its own error and never
//! reports the lie as true; told the truth, it proves the same reads, and keeps what it
//! proved across a restart. Given several nodes, it fails over when one is down, and names
//! one whose answer failed its proof while it believes the one that proved. A node whose
//! runtime lacks what the client uses is refused when the client connects.

mod common;

use codec::{Decode, Encode};
use common::*;
use jsonrpsee::core::client::ClientT;
use parking_lot::Mutex;
use quarks_client::chain::finality::{Checkpoint, Header};
use quarks_client::{
	chain::{
		account_value,
		finality::FinalityError,
		proven::{storage_key, FinalBlock},
		vocabulary::{self, COMMITS, DEVICE_RECORDS},
		Chain, ChainError, Wait,
	},
	queries,
};
use quarks_primitives::{Epoch, GroupId};
use sc_consensus_grandpa::FinalityProof;
use sp_core::crypto::AccountId32;
use sp_core::H256;
use sp_keyring::Sr25519Keyring;
use std::{sync::Arc, time::Duration};
use subxt::dynamic::Value;
use subxt::rpcs::client::{RawRpcFuture, RawRpcSubscription, RawValue, RpcClientT};

/// What the proxy lies about, if anything.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
	Nothing,
	/// `quarks_finalityProof` answers that nothing is final.
	Withhold,
	/// One byte of every finality proof's justification is changed.
	AlteredJustification,
	/// Block headers carry another state root (a forged state, whose proofs would check).
	ForgedHeader,
	/// The node's best block is called final, proven with its final parent's proof.
	BestAsFinal,
	/// Reads are answered from the state of this older block.
	StaleState(H256),
	/// A read of Alice's devices is answered with Bob's: her device change hidden.
	AnotherKey,
	/// Listings of storage keys leave out their first key: a group member hidden.
	HideKey,
	/// A read of the group's commit record of epoch 2 is answered with epoch 1's: a member
	/// given it would apply another commit than the one the chain ordered, and fork.
	AnotherEpoch(GroupId),
	/// The runtime's metadata is answered without the groups pallet's calls: a runtime
	/// the client cannot speak.
	OtherRuntime,
}

/// A JSON-RPC connection to a real node that rewrites its answers as [`Lie`] says.
struct Liar {
	node: jsonrpsee::core::client::Client,
	lie: Arc<Mutex<Lie>>,
}

fn raw(value: serde_json::Value) -> Box<RawValue> {
	RawValue::from_string(value.to_string()).expect("JSON")
}

fn params_of(params: &Option<Box<RawValue>>) -> Vec<serde_json::Value> {
	params.as_ref().map_or_else(Vec::new, |p| serde_json::from_str(p.get()).expect("params"))
}

impl Liar {
	async fn call(&self, method: &str, params: Vec<serde_json::Value>) -> serde_json::Value {
		let answer = self.node.request_raw(method, Some(raw(params.into()))).await.expect("answer");
		serde_json::from_str(answer.get()).expect("JSON")
	}
}

/// The proof with one bit of its justification's last signature changed (a justification
/// ends with each vote's signature and voter, then the ancestry headers, none here).
fn alter_justification(proof: &serde_json::Value) -> serde_json::Value {
	let bytes = array_bytes::hex2bytes(proof.as_str().expect("hex")).expect("hex");
	let mut proof = FinalityProof::<Header>::decode(&mut &bytes[..]).expect("a finality proof");
	let at = proof.justification.len() - 1 - 32 - 10;
	proof.justification[at] ^= 1;
	array_bytes::bytes2hex("0x", proof.encode()).into()
}

impl RpcClientT for Liar {
	fn request_raw<'a>(
		&'a self,
		method: &'a str,
		params: Option<Box<RawValue>>,
	) -> RawRpcFuture<'a, Box<RawValue>> {
		let lie = *self.lie.lock();
		Box::pin(async move {
			let mut args = params_of(&params);
			let answer = match (lie, method) {
				(Lie::Withhold, "quarks_finalityProof") => serde_json::Value::Null,
				(Lie::AlteredJustification, "quarks_finalityProof") => {
					let honest = self.call(method, args).await;
					if honest.is_null() {
						honest
					} else {
						alter_justification(&honest)
					}
				}
				(Lie::ForgedHeader, "chain_getHeader") => {
					let mut header = self.call(method, args).await;
					header["stateRoot"] = format!("{:?}", H256::repeat_byte(7)).into();
					header
				}
				(Lie::BestAsFinal, "chain_getFinalizedHead") => {
					self.call("chain_getBlockHash", vec![]).await
				}
				(Lie::BestAsFinal, "quarks_finalityProof") => {
					let number = args[0].as_u64().expect("a number");
					let parent = self.call(method, vec![(number - 1).into()]).await;
					if parent.is_null() {
						self.call(method, args).await
					} else {
						parent
					}
				}
				(Lie::StaleState(block), "state_getReadProof") => {
					args[1] = format!("{block:?}").into();
					self.call(method, args).await
				}
				(Lie::AnotherKey, "state_getReadProof") => {
					let devices = |who| storage_key(&DEVICE_RECORDS, &[account(who).as_ref()]);
					let alice = array_bytes::bytes2hex("0x", devices(Sr25519Keyring::Alice));
					if args[0][0] == serde_json::Value::from(alice) {
						let bob = devices(Sr25519Keyring::Bob);
						args[0][0] = array_bytes::bytes2hex("0x", bob).into();
					}
					self.call(method, args).await
				}
				(Lie::AnotherEpoch(group), "state_getReadProof") => {
					let record = |epoch: Epoch| {
						let key = storage_key(&COMMITS, &[&group.encode(), &epoch.encode()]);
						array_bytes::bytes2hex("0x", key)
					};
					if args[0][0] == serde_json::Value::from(record(2)) {
						args[0][0] = record(1).into();
					}
					self.call(method, args).await
				}
				(Lie::OtherRuntime, "state_call") if args[0] == "Metadata_metadata_at_version" => {
					without_group_calls(&self.call(method, args).await)
				}
				(Lie::HideKey, "state_getKeysPaged") => {
					let mut keys = self.call(method, args).await;
					let listed = keys.as_array_mut().expect("a list of keys");
					if !listed.is_empty() {
						listed.remove(0);
					}
					keys
				}
				_ => return self.node.request_raw(method, params).await,
			};
			Ok(raw(answer))
		})
	}

	fn subscribe_raw<'a>(
		&'a self,
		sub: &'a str,
		params: Option<Box<RawValue>>,
		unsub: &'a str,
	) -> RawRpcFuture<'a, RawRpcSubscription> {
		self.node.subscribe_raw(sub, params, unsub)
	}
}

/// `Metadata_metadata_at_version`'s answer, as a runtime without the groups pallet's calls
/// would give it.
fn without_group_calls(answer: &serde_json::Value) -> serde_json::Value {
	use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
	let bytes = array_bytes::hex2bytes(answer.as_str().expect("hex")).expect("hex");
	let opaque = Option::<Vec<u8>>::decode(&mut &bytes[..]).expect("Option<OpaqueMetadata>");
	let mut metadata = RuntimeMetadataPrefixed::decode(&mut &opaque.expect("metadata")[..])
		.expect("the runtime's metadata");
	match &mut metadata.1 {
		RuntimeMetadata::V16(m) => m.pallets.iter_mut().for_each(|p| {
			if p.name == "Groups" {
				p.calls = None;
			}
		}),
		RuntimeMetadata::V15(m) => m.pallets.iter_mut().for_each(|p| {
			if p.name == "Groups" {
				p.calls = None;
			}
		}),
		other => panic!("metadata version {}", other.version()),
	}
	array_bytes::bytes2hex("0x", Some(metadata.encode()).encode()).into()
}

async fn behind_a_liar(node: &Node) -> (Chain, Arc<Mutex<Lie>>) {
	let url = format!("ws://127.0.0.1:{}", node.rpc_port);
	let client = jsonrpsee::ws_client::WsClientBuilder::default().build(&url).await.expect("ws");
	let lie = Arc::new(Mutex::new(Lie::Nothing));
	let chain =
		Chain::over_client(Liar { node: client, lie: lie.clone() }).await.expect("connects");
	(chain, lie)
}

/// Whether Alice's development device was bound at block `at`, proven.
async fn alice_device_bound(chain: &Chain, at: u32) -> Result<bool, ChainError> {
	let alice = account(Sr25519Keyring::Alice);
	let devices = queries::devices(chain, &alice).await?;
	let device = devices.first().expect("Alice has a development device");
	Ok(queries::device_at(chain, &alice, device, at).await?.is_some())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lying_node_is_refused_and_an_honest_one_proves_the_same() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let nodes = start_validators(dir.path()).await;
	wait_finalized(&[&nodes[0], &nodes[1], &nodes[2]], 3).await;
	// A runtime the client cannot speak is refused when it connects, in a sentence.
	let url = format!("ws://127.0.0.1:{}", nodes[0].rpc_port);
	let client = jsonrpsee::ws_client::WsClientBuilder::default().build(&url).await.expect("ws");
	let other =
		Chain::over_client(Liar { node: client, lie: Arc::new(Mutex::new(Lie::OtherRuntime)) })
			.await
			.err()
			.expect("refused");
	assert!(
		matches!(&other, ChainError::Incompatible { missing, .. } if missing.contains(&"call Groups::commit".to_owned())),
		"{other}"
	);
	assert!(other.to_string().contains("Use the quarks release made for that runtime"), "{other}");

	let (chain, lie) = behind_a_liar(&nodes[0]).await;
	let checkpoint_file = dir.path().join("client.finality");
	chain.keep_checkpoint(checkpoint_file.clone()).expect("no checkpoint yet");

	// Honest: the latest final block is proven, and reads at it too.
	let FinalBlock { number, .. } = chain.proven_latest().await.expect("proven");
	assert!(alice_device_bound(&chain, number).await.expect("proven read"));

	let refused = |lie_: Lie| {
		let (lie, chain, node) = (lie.clone(), &chain, &nodes[0]);
		async move {
			*lie.lock() = lie_;
			// Past the half second the latest proven block is reused, and a block this
			// connection never proved.
			tokio::time::sleep(Duration::from_millis(600)).await;
			let fresh = node.finalized_number().await + 1;
			wait_finalized(&[node], fresh).await;
			let answer = chain.proven_latest().await;
			*lie.lock() = Lie::Nothing;
			answer
		}
	};

	// Withheld: nothing is called final.
	let withheld = refused(Lie::Withhold).await.expect_err("no proof, no final block");
	assert!(matches!(withheld, ChainError::Finality(FinalityError::Malformed(_))), "{withheld}");

	// An altered justification does not carry the voters' signatures.
	let altered = refused(Lie::AlteredJustification).await.expect_err("refused");
	assert!(
		matches!(
			altered,
			ChainError::Finality(
				FinalityError::BadJustification { .. } | FinalityError::Malformed(_)
			)
		),
		"{altered}"
	);

	// A header with a forged state root is no ancestor of the justified block.
	let forged = refused(Lie::ForgedHeader).await.expect_err("refused");
	assert!(matches!(forged, ChainError::Finality(FinalityError::BrokenChain { .. })), "{forged}");

	// The best block, not final, passed off with its parent's proof.
	let best = refused(Lie::BestAsFinal).await;
	if let Ok(block) = &best {
		// The best block had become final meanwhile: then its proof is its own.
		assert!(block.number <= nodes[0].finalized_number().await, "{block:?} is not final");
	} else {
		let error = best.expect_err("refused");
		assert!(
			matches!(error, ChainError::Finality(FinalityError::BrokenChain { .. })),
			"{error}"
		);
	}

	// Reads answered from block 1's state do not match the final block's state root.
	let block_one: H256 = nodes[0]
		.rpc
		.request("chain_getBlockHash", jsonrpsee::rpc_params![1])
		.await
		.expect("block 1");
	let FinalBlock { number, .. } = chain.proven_latest().await.expect("proven");
	*lie.lock() = Lie::StaleState(block_one);
	let stale = alice_device_bound(&chain, number).await.expect_err("refused");
	assert!(matches!(stale, ChainError::Unproven(_)), "{stale}");
	// Bob's device records in place of Alice's: what a node shows to hide her new device.
	*lie.lock() = Lie::AnotherKey;
	let hidden = alice_device_bound(&chain, number).await.expect_err("refused");
	assert!(matches!(hidden, ChainError::Unproven(_)), "{hidden}");
	*lie.lock() = Lie::Nothing;
	assert!(alice_device_bound(&chain, number).await.expect("proven read"));

	// A group's members: each proven, and none left out, though listing them is unproven.
	let members = [Sr25519Keyring::Bob, Sr25519Keyring::Charlie].map(account);
	let listed = Value::unnamed_composite(members.iter().map(account_value));
	let alice = Sr25519Keyring::Alice.pair();
	let included = chain
		.submit(&alice, vocabulary::CREATE_GROUP, vec![listed], Wait::Finalized, &mut |_| {})
		.await
		.expect("a group");
	let (group, _, _): (GroupId, AccountId32, u32) =
		included.event(vocabulary::GROUP_CREATED).expect("created");
	let mut expected = vec![account(Sr25519Keyring::Alice)];
	expected.extend(members);
	expected.sort();
	assert_eq!(queries::group_members(&chain, group).await.expect("proven"), expected);
	*lie.lock() = Lie::HideKey;
	let hidden = queries::group_members(&chain, group).await.expect_err("refused");
	assert!(matches!(hidden, ChainError::Unproven(_)), "{hidden}");
	*lie.lock() = Lie::Nothing;

	// A commit record: the one the chain ordered for the epoch, not another epoch's.
	let mut roster = Vec::new();
	for member in &expected {
		roster.extend(queries::devices(&chain, member).await.expect("proven devices"));
	}
	roster.sort();
	let dave = account(Sr25519Keyring::Dave);
	let mut roster_after = roster.clone();
	roster_after.extend(queries::devices(&chain, &dave).await.expect("proven devices"));
	roster_after.sort();
	let commit = |epoch: u32, roster: &[[u8; 32]]| {
		vocabulary::COMMIT.value(vec![
			("group", Value::u128(group.into())),
			("epoch", Value::u128(epoch.into())),
			("commit", Value::from_bytes(format!("the commit of epoch {epoch}"))),
			("roster", Value::unnamed_composite(roster.iter().map(Value::from_bytes))),
			("welcome", Value::unnamed_variant("Some", [Value::from_bytes([epoch as u8; 32])])),
			("restart", Value::bool(epoch == 1)),
			("authenticator", Value::from_bytes([7; 32])),
		])
	};
	let add_dave = vocabulary::ADD_MEMBER
		.value(vec![("group", Value::u128(group.into())), ("who", account_value(&dave))]);
	let calls = Value::unnamed_composite([commit(1, &roster), add_dave, commit(2, &roster_after)]);
	chain
		.submit(&alice, vocabulary::BATCH_ALL, vec![calls], Wait::Finalized, &mut |_| {})
		.await
		.expect("two epochs ordered");
	let ordered = queries::commit_at(&chain, group, 2).await.expect("proven").expect("kept");
	assert_eq!(ordered.members_since, 2, "{ordered:?}");
	*lie.lock() = Lie::AnotherEpoch(group);
	let forked = queries::commit_at(&chain, group, 2).await.expect_err("refused");
	assert!(matches!(forked, ChainError::Unproven(_)), "{forked}");
	let members = queries::members_at(&chain, group, 2).await.expect_err("refused");
	assert!(matches!(members, ChainError::Unproven(_)), "{members}");
	*lie.lock() = Lie::Nothing;

	// What it proved is kept: a restart trusts the same checkpoint, not its node anew.
	let kept = chain.checkpoint().await.expect("pinned");
	let (restarted, _) = behind_a_liar(&nodes[1]).await;
	restarted.keep_checkpoint(checkpoint_file).expect("read");
	assert_eq!(restarted.checkpoint().await, Some(kept));
	restarted.proven_latest().await.expect("proven from the kept checkpoint");
}

#[tokio::test(flavor = "multi_thread")]
async fn several_nodes_fail_over_and_a_liar_among_them_is_named() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let mut nodes = start_validators(dir.path()).await;
	wait_finalized(&[&nodes[0], &nodes[1], &nodes[2]], 3).await;
	let url = |node: &Node| format!("ws://127.0.0.1:{}", node.rpc_port);

	// A liar first, an honest node second: the liar's altered justification is refused and
	// named, and what the client believes is what the honest node proved.
	let ws = |node: &Node| jsonrpsee::ws_client::WsClientBuilder::default().build(url(node));
	let lie = Arc::new(Mutex::new(Lie::AlteredJustification));
	let liar = Liar { node: ws(&nodes[0]).await.expect("ws"), lie };
	let honest = ws(&nodes[1]).await.expect("ws");
	let names = vec!["liar".to_owned(), "honest".to_owned()];
	let chain =
		Chain::over_clients(names, vec![Box::new(liar), Box::new(honest)]).await.expect("connects");
	let block = chain.proven_latest().await.expect("proven by the honest node");
	let disagreements = chain.nodes().disagreements();
	assert_eq!(disagreements.len(), 1, "{disagreements:?}");
	assert_eq!(disagreements[0].url, "liar");
	assert!(disagreements[0].reason.contains("did not prove finality"), "{disagreements:?}");
	// What front ends tell the person: each disagreement once.
	assert_eq!(chain.nodes().disagreements_since(0), (1, disagreements.clone()));
	assert_eq!(chain.nodes().disagreements_since(1), (1, Vec::new()));
	assert!(disagreements[0].to_string().starts_with("node liar was not believed: "));
	assert_eq!(chain.nodes().current(), "honest");
	let hash: H256 = nodes[1]
		.rpc
		.request("chain_getBlockHash", jsonrpsee::rpc_params![block.number])
		.await
		.expect("hash");
	assert_eq!(block.hash, hash);

	// Two honest nodes given as one URL list: the first goes down, the second answers.
	let both = format!("{},{}", url(&nodes[0]), url(&nodes[1]));
	let chain = Chain::connect(&both).await.expect("connects to both");
	let latest = chain.proven_latest().await.expect("proven").number;
	assert_eq!(chain.nodes().current(), url(&nodes[0]));
	nodes[0].kill();
	let earlier = chain.proven_final(latest - 1).await.expect("the other node answers");
	assert!(earlier.is_some(), "block {} is final", latest - 1);
	assert_eq!(chain.nodes().current(), url(&nodes[1]));
	assert!(chain.nodes().disagreements().is_empty(), "an outage is no disagreement");
}

/// The raw chain spec of network `chain`, written to a file in `dir`.
fn raw_spec(dir: &std::path::Path, chain: &str) -> std::path::PathBuf {
	let file = dir.join(format!("{chain}-spec.json"));
	std::fs::write(&file, raw_chain_spec(chain)).expect("writes the spec");
	file
}

/// The checkpoint `who`'s device keeps beside its keystore.
fn kept_checkpoint(dir: &std::path::Path, who: &str) -> Checkpoint {
	let bytes = std::fs::read(dir.join(format!("{who}.json.finality"))).expect("a checkpoint");
	Checkpoint::decode(&mut &bytes[..]).expect("decodes")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_given_the_chain_spec_follows_finality_from_genesis() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let nodes = start_validators(dir.path()).await;
	wait_finalized(&[&nodes[0], &nodes[1], &nodes[2]], 5).await;
	let dir = dir.path();
	let with_spec = |who: &str, spec: &std::path::Path, args: &[&str]| {
		quarks_command(dir, &nodes[0], who)
			.env("QUARKS_CHAIN_SPEC", spec)
			.args(args)
			.output()
			.expect("quarks runs")
	};

	// From the local network's spec: set 0 from block 0, then whatever the node proves.
	let local = raw_spec(dir, "local");
	for args in [&["init", "--dev", "Alice", "--kdf-log-n", "10"][..], &["whoami"]] {
		let output = with_spec("alice", &local, args);
		assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	}
	let trusted = kept_checkpoint(dir, "alice");
	assert_eq!((trusted.sets[0].id, trusted.sets[0].from), (0, 0), "{trusted:?}");

	// Without it, the device trusts the node's first answer: a set pinned at a later block.
	quarks(dir, &nodes[0], "bob", &["init", "--dev", "Bob", "--kdf-log-n", "10"]);
	quarks(dir, &nodes[0], "bob", &["whoami"]);
	let pinned = kept_checkpoint(dir, "bob");
	assert!(pinned.sets[0].from > 0, "{pinned:?}");

	// Another network's spec: its genesis is not this node's, and nothing is trusted.
	let dev = raw_spec(dir, "dev");
	quarks(dir, &nodes[0], "charlie", &["init", "--dev", "Charlie", "--kdf-log-n", "10"]);
	let refused = with_spec("charlie", &dev, &["whoami"]);
	let said = String::from_utf8_lossy(&refused.stderr);
	assert!(!refused.status.success() && said.contains("another network"), "{said}");
}
