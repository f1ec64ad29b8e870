//! Multi-node tests: real `quarks-node` processes on 127.0.0.1 running the `local` chain.
//! Validators added and removed at runtime: `operators.rs`.

mod common;

use common::*;

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
		NodeConfig {
			name: "dave",
			node_key: Some(4),
			bootnodes: boot.clone(),
			..Default::default()
		},
	);

	let all: Vec<&Node> = validators.iter().chain([&dave]).collect();
	wait_finalized(&all, 5).await;

	// Every authorised node now enforces the on-chain allow-list; node key 7 is not on it.
	let outsider = Node::start(
		dir.path(),
		NodeConfig { name: "outsider", node_key: Some(7), bootnodes: boot, ..Default::default() },
	);
	let target = validators[0].finalized_number().await + 5;
	wait_finalized(&all, target).await;

	assert_eq!(outsider.best_number().await, 0, "an unauthorised node must not receive blocks");
	assert_eq!(outsider.finalized_number().await, 0);
}
