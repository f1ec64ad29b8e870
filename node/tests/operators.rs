//! An operators' network from their own keys, as docs/operations.md walks through it:
//! accounts from `quarks-node key generate`, node and session keys from `quarks-node
//! network keys`, the chain spec from `quarks-node network spec`; three validators start
//! from it, then the privileged account admits a host, and adds and removes a validator at
//! runtime; a client that pinned the network's finality at the start follows each hand-off
//! of the GRANDPA set by its proofs alone.
//! No development key (`//Alice` and the like) appears anywhere.

mod common;

use common::*;
use jsonrpsee::core::client::ClientT;
use quarks_client::chain::{Chain, ChainError};
use quarks_runtime::{AccountId, AuraId, GrandpaId, RuntimeCall};
use serde_json::Value;
use sp_core::{
	crypto::{Pair as _, Ss58AddressFormat, Ss58Codec},
	sr25519,
};
use std::{path::Path, process::Command, time::Duration};

const CHAIN_ID: &str = "acme_quarks";
const LIMIT: Duration = Duration::from_secs(300);

fn quarks_node(args: &[&str]) -> String {
	let output = Command::new(env!("CARGO_BIN_EXE_quarks-node"))
		.args(args)
		.output()
		.expect("quarks-node runs");
	assert!(
		output.status.success(),
		"quarks-node {args:?} failed: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// A fresh account from `quarks-node key generate`: its key pair and its address as the
/// node printed it.
fn generate_account() -> (sr25519::Pair, String) {
	let json: Value = serde_json::from_str(&quarks_node(&[
		"key",
		"generate",
		"--scheme",
		"sr25519",
		"--output-type",
		"json",
	]))
	.expect("JSON");
	let phrase = json["secretPhrase"].as_str().expect("a phrase");
	let address = json["ss58Address"].as_str().expect("an address").to_owned();
	(sr25519::Pair::from_phrase(phrase, None).expect("valid phrase").0, address)
}

/// `quarks-node network keys` for the node that will run in `<dir>/<name>`.
fn node_keys(dir: &Path, name: &str, validator: bool) -> Value {
	let base = dir.join(name);
	let base = base.to_str().expect("UTF-8 path");
	let mut args = vec!["network", "keys", "--base-path", base, "--chain-id", CHAIN_ID];
	if validator {
		args.push("--validator");
	}
	serde_json::from_str(&quarks_node(&args)).expect("JSON")
}

fn text<'a>(keys: &'a Value, field: &str) -> &'a str {
	keys[field].as_str().unwrap_or_else(|| panic!("{field} in {keys}"))
}

fn from_ss58<T: Ss58Codec>(text: &str) -> T {
	let (value, format) = T::from_ss58check_with_version(text).expect("an SS58 address");
	assert_eq!(format, Ss58AddressFormat::custom(7777), "printed in the chain's own format");
	value
}

fn peer_id(text: &str) -> sp_core::OpaquePeerId {
	let peer: sc_network_types::PeerId = text.parse().expect("a peer id");
	sp_core::OpaquePeerId(peer.to_bytes())
}

fn sudo(call: RuntimeCall) -> RuntimeCall {
	RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(call) })
}

fn sudo_batch(calls: Vec<RuntimeCall>) -> RuntimeCall {
	sudo(RuntimeCall::Utility(pallet_utility::Call::batch_all { calls }))
}

async fn grandpa_voters(node: &Node) -> Vec<GrandpaId> {
	let list: Vec<(GrandpaId, u64)> = node.runtime_call("GrandpaApi_grandpa_authorities", ()).await;
	list.into_iter().map(|(id, _)| id).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_start_a_network_of_their_own_keys_and_grow_it() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let dir = dir.path();

	// Keys, each made where it is used; only public parts are exchanged.
	let (root, root_address) = generate_account();
	let (operator, operator_address) = generate_account();
	assert_eq!(from_ss58::<AccountId>(&root_address), root.public().into());
	let validators: Vec<Value> =
		["v1", "v2", "v3"].iter().map(|name| node_keys(dir, name, true)).collect();
	let host_keys = node_keys(dir, "host", false);
	let newcomer = node_keys(dir, "v4", true);
	assert_eq!(node_keys(dir, "v4", true), newcomer, "keys are made once");

	// The network file and its chain spec (its host runs on 127.0.0.1, so private
	// endpoints are allowed).
	let mut file = format!(
		"name = \"Acme Quarks\"\nid = \"{CHAIN_ID}\"\nprivileged = \"{root_address}\"\n\
		 allow_private_endpoints = true\n\
		 [[balances]]\naccount = \"{root_address}\"\nqrk = 1000\n\
		 [[balances]]\naccount = \"{operator_address}\"\nqrk = 1000\n"
	);
	for keys in &validators {
		file += &format!(
			"[[validators]]\npeer_id = \"{}\"\naura = \"{}\"\ngrandpa = \"{}\"\n",
			text(keys, "peer_id"),
			text(keys, "aura"),
			text(keys, "grandpa")
		);
	}
	std::fs::write(dir.join("network.toml"), file).expect("written");
	let config = dir.join("network.toml");
	let spec =
		quarks_node(&["network", "spec", "--config", config.to_str().expect("UTF-8"), "--raw"]);
	let spec_path = dir.join("acme.json");
	std::fs::write(&spec_path, spec).expect("written");
	let chain = spec_path.to_str().expect("UTF-8 path");

	// Three validators, each with the keys in its own base path.
	let start = |name: &'static str, validator: bool, boot: Vec<String>, args: Vec<String>| {
		Node::start(
			dir,
			NodeConfig {
				name,
				chain: Some(chain),
				validator,
				bootnodes: boot,
				args,
				..Default::default()
			},
		)
	};
	let v1 = start("v1", true, vec![], vec![]);
	let boot = vec![v1.multiaddr().await];
	let v2 = start("v2", true, boot.clone(), vec![]);
	let mut v3 = start("v3", true, boot.clone(), vec![]);
	wait_finalized(&[&v1, &v2, &v3], 3).await;
	let url = |node: &Node| format!("ws://127.0.0.1:{}", node.rpc_port);
	let pinned_early = Chain::connect(&url(&v1)).await.expect("connects");
	pinned_early.proven_latest().await.expect("final blocks are proven from the first set");
	assert_eq!(pinned_early.checkpoint().await.expect("pinned").current().id, 0);

	// Wallets address accounts in the chain's own format.
	assert_eq!(v1.next_nonce(&root_address).await, 0);

	// The privileged account admits a host: its node joins the allow-list, its operator
	// the hosts.
	let host = start("host", false, boot.clone(), vec!["--host".into(), operator_address.clone()]);
	let endpoint = format!("ws://127.0.0.1:{}", host.rpc_port).into_bytes();
	let operator_account: AccountId = operator.public().into();
	v1.submit_next(
		&root,
		sudo_batch(vec![
			RuntimeCall::NodeAuthorization(pallet_node_authorization::Call::add_well_known_node {
				node: peer_id(text(&host_keys, "peer_id")),
				owner: operator_account.clone().into(),
			}),
			RuntimeCall::Hosts(pallet_quarks_hosts::Call::admit_host {
				operator: operator_account.clone(),
				endpoint: endpoint.clone(),
				retention: 1000,
				capacity: 1 << 30,
				user_quota: 1 << 20,
			}),
		]),
	)
	.await;
	wait_until("the host is admitted", LIMIT, || async {
		let record: Option<quarks_primitives::hosting::HostInfo<quarks_runtime::BlockNumber>> =
			v1.runtime_call("HostingApi_host", operator_account.clone()).await;
		record.is_some_and(|r| r.endpoint == endpoint)
	})
	.await;
	let finalized = v1.finalized_number().await;
	wait_finalized(&[&host], finalized).await;
	let status: Value = host
		.rpc
		.request("quarks_hostStatus", jsonrpsee::rpc_params![])
		.await
		.expect("the host serves");
	assert_eq!(
		from_ss58::<AccountId>(status["operator"].as_str().expect("operator")),
		operator_account
	);

	// …and adds a fourth validator, whose node holds its own session keys.
	let mut v4 = start("v4", true, boot, vec![]);
	let aura: AuraId = from_ss58(text(&newcomer, "aura"));
	let grandpa: GrandpaId = from_ss58(text(&newcomer, "grandpa"));
	let v4_account = AccountId::from(aura.clone().into_inner());
	v1.submit_next(
		&root,
		sudo_batch(vec![
			RuntimeCall::NodeAuthorization(pallet_node_authorization::Call::add_well_known_node {
				node: peer_id(text(&newcomer, "peer_id")),
				owner: v4_account.clone().into(),
			}),
			RuntimeCall::ValidatorSet(pallet_validator_set::Call::add_validator {
				validator: v4_account.clone(),
				aura,
				grandpa: grandpa.clone(),
			}),
		]),
	)
	.await;
	wait_until("the new validator votes on finality", LIMIT, || async {
		grandpa_voters(&v1).await.contains(&grandpa)
	})
	.await;
	wait_until("the new validator authors a block", LIMIT, || async {
		v4.logged("Pre-sealed block for proposal")
	})
	.await;
	let after = v1.finalized_number().await + 3;
	wait_finalized(&[&v1, &v2, &v3, &v4, &host], after).await;
	assert_eq!(grandpa_voters(&v1).await.len(), 4);

	// Removing it again: the other three finalize without its node.
	v1.submit_next(
		&root,
		sudo(RuntimeCall::ValidatorSet(pallet_validator_set::Call::remove_validator {
			validator: v4_account,
		})),
	)
	.await;
	wait_until("the validator leaves the voters", LIMIT, || async {
		!grandpa_voters(&v1).await.contains(&grandpa)
	})
	.await;
	v4.stop();
	let after = v1.finalized_number().await + 3;
	wait_finalized(&[&v1, &v2, &v3, &host], after).await;
	assert_eq!(grandpa_voters(&v1).await.len(), 3);

	// Two hand-offs since the client pinned set 0: it proves today's blocks through them,
	// and the set each hand-off named is the one the nodes vote in.
	let proven = pinned_early.proven_final(after).await.expect("proven").expect("final");
	let checkpoint = pinned_early.checkpoint().await.expect("pinned");
	let ids: Vec<u64> = checkpoint.sets.iter().map(|set| set.id).collect();
	assert_eq!(ids, vec![0, 1, 2], "set 1 added the fourth validator, set 2 removed it");
	let voters: Vec<usize> = checkpoint.sets.iter().map(|set| set.authorities.len()).collect();
	assert_eq!(voters, vec![3, 4, 3]);
	assert_eq!(pinned_early.finalized_hash(after).await.expect("proven"), Some(proven.hash));
	// A client pinning now takes the set id from the runtime: it must be the nodes' one.
	let pinned_late = Chain::connect(&url(&v2)).await.expect("connects");
	pinned_late.proven_final(after).await.expect("the runtime names the set that signs");
	assert_eq!(pinned_late.checkpoint().await.expect("pinned").current().id, 2);

	// A validator's node goes offline: two of three votes finalize nothing, so no
	// standard change removing it can be finalized either.
	v3.kill();
	let best = v1.best_number().await;
	wait_until("blocks go on", LIMIT, || async { v1.best_number().await >= best + 4 }).await;
	let stalled = v1.finalized_number().await;
	let best = v1.best_number().await;
	wait_until("more blocks go on", LIMIT, || async { v1.best_number().await >= best + 4 }).await;
	assert_eq!(v1.finalized_number().await, stalled, "finality stalled");

	// The privileged origin removes it, then forces the remaining set: finality resumes.
	let v3_aura: AuraId = from_ss58(text(&validators[2], "aura"));
	v1.submit_next(
		&root,
		sudo(RuntimeCall::ValidatorSet(pallet_validator_set::Call::remove_validator {
			validator: AccountId::from(v3_aura.into_inner()),
		})),
	)
	.await;
	wait_until("the removal is in the best chain", LIMIT, || async {
		authors_at_best(&v1).await == 2
	})
	.await;
	v1.submit_next(
		&root,
		sudo(RuntimeCall::ValidatorSet(pallet_validator_set::Call::recover_finality {
			best_finalized: stalled,
			delay: 2,
		})),
	)
	.await;
	wait_finalized(&[&v1, &v2, &host], stalled + 5).await;
	assert_eq!(grandpa_voters(&v1).await.len(), 2);

	// A forced set is no signed hand-off: a client that knew the old set believes none of
	// the new one's blocks until it pins again.
	let recovered = v1.finalized_number().await;
	let refused = pinned_early.proven_final(recovered).await.expect_err("a forced set is refused");
	assert!(matches!(refused, ChainError::Finality(_)), "{refused}");
	let pinned_after = Chain::connect(&url(&v1)).await.expect("connects");
	pinned_after.proven_final(recovered).await.expect("pinned anew").expect("final");
}

/// How many block authors the runtime lists at `node`'s best block.
async fn authors_at_best(node: &Node) -> usize {
	use codec::Decode;
	let bytes: sp_core::Bytes = node
		.rpc
		.request(
			"state_call",
			jsonrpsee::rpc_params!["AuraApi_authorities", sp_core::Bytes(vec![])],
		)
		.await
		.expect("state_call");
	Vec::<AuraId>::decode(&mut &bytes[..]).expect("authorities decode").len()
}
