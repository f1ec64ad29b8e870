//! Multi-node tests: real `quarks-node` processes on 127.0.0.1 running the `local` chain.

mod common;

use common::*;
use quarks_runtime::{GrandpaId, RuntimeCall};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use std::time::Duration;

async fn grandpa_voters(node: &Node) -> Vec<GrandpaId> {
	let list: Vec<(GrandpaId, u64)> = node.runtime_call("GrandpaApi_grandpa_authorities", ()).await;
	list.into_iter().map(|(id, _)| id).collect()
}

fn sudo(call: RuntimeCall) -> RuntimeCall {
	RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(call) })
}

#[test]
fn local_preset_allow_list_matches_the_fixed_node_keys() {
	for (n, (_, public)) in
		quarks_runtime::genesis_config_presets::LOCAL_NODE_PUBLIC_KEYS.iter().enumerate()
	{
		assert_eq!(node_public_key(n as u8 + 1), *public, "node key {}", n + 1);
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn three_validators_finalize_and_an_unauthorised_node_gets_no_blocks() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let validators = start_validators(dir.path()).await;
	let boot = vec![validators[0].multiaddr().await, validators[1].multiaddr().await];
	let dave = Node::start(
		dir.path(),
		NodeConfig { name: "dave", node_key: 4, bootnodes: boot.clone(), ..Default::default() },
	);

	let all: Vec<&Node> = validators.iter().chain([&dave]).collect();
	wait_finalized(&all, 5).await;

	// Every authorised node now enforces the on-chain allow-list; node key 7 is not on it.
	let outsider = Node::start(
		dir.path(),
		NodeConfig { name: "outsider", node_key: 7, bootnodes: boot, ..Default::default() },
	);
	let target = validators[0].finalized_number().await + 5;
	wait_finalized(&all, target).await;

	assert_eq!(outsider.best_number().await, 0, "an unauthorised node must not receive blocks");
	assert_eq!(outsider.finalized_number().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn privileged_origin_adds_and_removes_a_validator_at_runtime() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let validators = start_validators(dir.path()).await;
	let refs: Vec<&Node> = validators.iter().collect();
	wait_finalized(&refs, 3).await;
	let alice = &validators[0];

	let mut eve = Node::start(
		dir.path(),
		NodeConfig {
			name: "eve",
			validator: Some("eve"),
			node_key: 6,
			bootnodes: vec![alice.multiaddr().await],
			..Default::default()
		},
	);
	let eve_peer = quarks_runtime::genesis_config_presets::peer_id(node_public_key(6));
	let eve_grandpa: GrandpaId = Ed25519Keyring::Eve.public().into();

	// One privileged act: authorise Eve's node and admit Eve as a validator.
	alice
		.submit(
			Sr25519Keyring::Alice,
			sudo(RuntimeCall::Utility(pallet_utility::Call::batch_all {
				calls: vec![
					RuntimeCall::NodeAuthorization(
						pallet_node_authorization::Call::add_well_known_node {
							node: eve_peer,
							owner: account(Sr25519Keyring::Eve).into(),
						},
					),
					RuntimeCall::ValidatorSet(pallet_validator_set::Call::add_validator {
						validator: account(Sr25519Keyring::Eve),
						aura: Sr25519Keyring::Eve.public().into(),
						grandpa: eve_grandpa.clone(),
					}),
				],
			})),
		)
		.await;

	wait_until("Eve becomes a GRANDPA voter", Duration::from_secs(300), || async {
		grandpa_voters(alice).await.contains(&eve_grandpa)
	})
	.await;
	wait_until("Eve authors a block", Duration::from_secs(300), || async {
		eve.logged("Pre-sealed block for proposal")
	})
	.await;
	let after_add = alice.finalized_number().await + 5;
	let with_eve: Vec<&Node> = validators.iter().chain([&eve]).collect();
	wait_finalized(&with_eve, after_add).await;

	alice
		.submit(
			Sr25519Keyring::Alice,
			sudo(RuntimeCall::ValidatorSet(pallet_validator_set::Call::remove_validator {
				validator: account(Sr25519Keyring::Eve),
			})),
		)
		.await;
	wait_until("Eve leaves the GRANDPA voters", Duration::from_secs(300), || async {
		!grandpa_voters(alice).await.contains(&eve_grandpa)
	})
	.await;

	// Without Eve's node the three remaining validators keep finalizing.
	eve.stop();
	let after_remove = alice.finalized_number().await + 5;
	wait_finalized(&refs, after_remove).await;
	assert_eq!(grandpa_voters(alice).await.len(), 3);
}
