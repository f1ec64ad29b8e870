//! Genesis: the presets the node's development chain specs name, and
//! [`network_genesis`], from which operators build a network of their own keys.
//!
//! - `development`: one validator (Alice), for `--dev`.
//! - `local`: three validators (Alice, Bob, Charlie) and five authorised nodes (the three
//!   validators and the mail hosts of Dave and Ferdie), for `scripts/local-network.sh` and
//!   the tests.
//!
//! Both presets are for testing only: every key in them is derived from a well-known seed.
//! `quarks-node network spec` (docs/operations.md) feeds [`network_genesis`] with the
//! operators' own keys instead.

use crate::{
	configs::MessageRetention, AccountId, AuraId, Balance, BalancesConfig, BlockNumber, GrandpaId,
	HostsConfig, KeysConfig, RuntimeGenesisConfig, SudoConfig, UNIT,
};
use alloc::{vec, vec::Vec};
use serde_json::Value;
use sp_core::{hex2array, OpaquePeerId};
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// Balance of every endowed development account.
const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// The libp2p ed25519 public keys of the nodes started with
/// `--node-key 000…0001` (Alice) up to `--node-key 000…0005` (Ferdie): the fixed node keys
/// of the local network. `scripts/local-network.sh` and the node's tests use the same keys.
pub const LOCAL_NODE_PUBLIC_KEYS: [(Sr25519Keyring, [u8; 32]); 5] = [
	(
		Sr25519Keyring::Alice,
		hex2array!("4cb5abf6ad79fbf5abbccafcc269d85cd2651ed4b885b5869f241aedf0a5ba29"),
	),
	(
		Sr25519Keyring::Bob,
		hex2array!("7422b9887598068e32c4448a949adb290d0f4e35b9e01b0ee5f1a1e600fe2674"),
	),
	(
		Sr25519Keyring::Charlie,
		hex2array!("f381626e41e7027ea431bfe3009e94bdd25a746beec468948d6c3c7c5dc9a54b"),
	),
	(
		Sr25519Keyring::Dave,
		hex2array!("fd50b8e3b144ea244fbf7737f550bc8dd0c2650bbc1aada833ca17ff8dbf329b"),
	),
	(
		Sr25519Keyring::Ferdie,
		hex2array!("fde4fba030ad002f7c2f7d4c331f49d13fb0ec747eceebec634f1ff4cbca9def"),
	),
];

/// Device keys (Ed25519) of the development identities, bound at genesis. Their seeds are
/// BLAKE2b-256(`quarks-dev-device//<Name>`), so the demo needs only to publish their key
/// packages; development only.
pub const DEV_DEVICE_KEYS: [(Sr25519Keyring, [u8; 32]); 4] = [
	(
		Sr25519Keyring::Alice,
		hex2array!("13a61157d2dd8df2ecacadff1adcf47c6b6ab5ebc82073a65d0bf3ce77411622"),
	),
	(
		Sr25519Keyring::Bob,
		hex2array!("2d0cdc4d35927a22f3d62782cebb7fbe165088cd4240763f66cfed0a8cbbe1d7"),
	),
	(
		Sr25519Keyring::Charlie,
		hex2array!("777e0ce5c423c3dc307828aebd1ccf9f5c5952b0dd76bcc8e93489b5525f78bb"),
	),
	(
		Sr25519Keyring::Dave,
		hex2array!("7c37d261fa97680843351a2d96500bb8420503819d39dc52967c3d6b67784639"),
	),
];

/// Capacity and per-user quota of the genesis hosts.
const HOST_CAPACITY: u64 = 1 << 30;
const HOST_USER_QUOTA: u64 = 64 << 20;

/// The libp2p peer id of an ed25519 node key: the identity multihash (code 0x00, length
/// 36) of the protobuf-encoded public key (key type 1 = ed25519, 32 bytes).
pub fn peer_id(ed25519_public: [u8; 32]) -> OpaquePeerId {
	let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
	bytes.extend_from_slice(&ed25519_public);
	OpaquePeerId(bytes)
}

/// A validator's account and session keys, derived from the keyring seed of `who`.
fn validator(who: Sr25519Keyring, finality: Ed25519Keyring) -> (AccountId, AuraId, GrandpaId) {
	(who.to_account_id(), who.public().into(), finality.public().into())
}

/// A mail host admitted at genesis.
pub struct GenesisHost {
	/// The operator's account.
	pub operator: AccountId,
	/// Its JSON-RPC endpoint.
	pub endpoint: Vec<u8>,
	/// Blocks it keeps undelivered mail.
	pub retention: BlockNumber,
	/// Bytes it stores in all.
	pub capacity: u64,
	/// Bytes it stores per user.
	pub user_quota: u64,
}

/// What a network starts with. The presets below fill it with development keys;
/// `quarks-node network spec` fills it from an operators' configuration file.
pub struct NetworkGenesis {
	/// Validators: account, block-authoring key, finality key.
	pub validators: Vec<(AccountId, AuraId, GrandpaId)>,
	/// Nodes allowed to connect: peer id and owner.
	pub nodes: Vec<(OpaquePeerId, AccountId)>,
	/// Initial balances.
	pub balances: Vec<(AccountId, Balance)>,
	/// The privileged account (sudo key).
	pub root: AccountId,
	/// Mail hosts admitted at genesis.
	pub hosts: Vec<GenesisHost>,
	/// Devices bound at genesis: account, device key.
	pub devices: Vec<(AccountId, [u8; 32])>,
	/// Users' choices of hosts.
	pub choices: Vec<(AccountId, Vec<AccountId>)>,
	/// Whether host endpoints may name private addresses (a network on one machine or a
	/// LAN).
	pub allow_private_endpoints: bool,
}

/// The genesis config of `network`, as JSON.
pub fn network_genesis(network: NetworkGenesis) -> Value {
	let NetworkGenesis {
		mut validators,
		nodes,
		balances,
		root,
		hosts,
		devices,
		choices,
		allow_private_endpoints,
	} = network;
	// Aura's slot order and the validator set are both ordered by account.
	validators.sort_by(|a, b| a.0.cmp(&b.0));
	let config = RuntimeGenesisConfig {
		balances: BalancesConfig { balances, ..Default::default() },
		aura: pallet_aura::GenesisConfig {
			authorities: validators.iter().map(|v| v.1.clone()).collect(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: validators.iter().map(|v| (v.2.clone(), 1)).collect(),
			..Default::default()
		},
		validator_set: pallet_validator_set::GenesisConfig { validators },
		node_authorization: pallet_node_authorization::GenesisConfig { nodes },
		sudo: SudoConfig { key: Some(root) },
		keys: KeysConfig { devices },
		hosts: HostsConfig {
			hosts: hosts
				.into_iter()
				.map(|h| (h.operator, h.endpoint, h.retention, h.capacity, h.user_quota))
				.collect(),
			choices,
			allow_private_endpoints,
		},
		..Default::default()
	};
	serde_json::to_value(config).expect("a RuntimeGenesisConfig serialises to JSON")
}

/// A development host at `endpoint`, with the presets' terms.
fn dev_host(operator: Sr25519Keyring, endpoint: &str) -> GenesisHost {
	GenesisHost {
		operator: operator.to_account_id(),
		endpoint: endpoint.as_bytes().to_vec(),
		retention: MessageRetention::get(),
		capacity: HOST_CAPACITY,
		user_quota: HOST_USER_QUOTA,
	}
}

/// A development network: every well-known account endowed, Alice privileged, the
/// development devices bound.
fn development_network(
	validators: Vec<(AccountId, AuraId, GrandpaId)>,
	nodes: Vec<(OpaquePeerId, AccountId)>,
	hosts: Vec<GenesisHost>,
	choices: Vec<(Sr25519Keyring, Vec<Sr25519Keyring>)>,
) -> Value {
	network_genesis(NetworkGenesis {
		validators,
		nodes,
		balances: Sr25519Keyring::well_known().map(|k| (k.to_account_id(), ENDOWMENT)).collect(),
		root: Sr25519Keyring::Alice.to_account_id(),
		hosts,
		devices: DEV_DEVICE_KEYS.iter().map(|(who, key)| (who.to_account_id(), *key)).collect(),
		choices: choices
			.into_iter()
			.map(|(user, hosts)| {
				(user.to_account_id(), hosts.iter().map(|h| h.to_account_id()).collect())
			})
			.collect(),
		// Development chains run on one machine: their hosts are on 127.0.0.1.
		allow_private_endpoints: true,
	})
}

fn authorised_nodes(count: usize) -> Vec<(OpaquePeerId, AccountId)> {
	LOCAL_NODE_PUBLIC_KEYS
		.iter()
		.take(count)
		.map(|(owner, key)| (peer_id(*key), owner.to_account_id()))
		.collect()
}

/// `development`: Alice alone validates, and her node hosts everyone's mail.
pub fn development_config_genesis() -> Value {
	development_network(
		vec![validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		authorised_nodes(1),
		vec![dev_host(Sr25519Keyring::Alice, "ws://127.0.0.1:9944")],
		DEV_DEVICE_KEYS.iter().map(|(who, _)| (*who, vec![Sr25519Keyring::Alice])).collect(),
	)
}

/// `local`: Alice, Bob and Charlie validate; Dave and Ferdie run authorised full nodes
/// that host mail. Alice chose Dave's host, Charlie Ferdie's, Bob and Dave both: so a
/// message can reach one host or two, and a group of Alice, Bob and Charlie reaches both.
pub fn local_config_genesis() -> Value {
	use Sr25519Keyring::{Alice, Bob, Charlie, Dave, Ferdie};
	development_network(
		vec![
			validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			validator(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			validator(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
		],
		authorised_nodes(5),
		vec![dev_host(Dave, "ws://127.0.0.1:9947"), dev_host(Ferdie, "ws://127.0.0.1:9948")],
		vec![
			(Alice, vec![Dave]),
			(Bob, vec![Dave, Ferdie]),
			(Charlie, vec![Ferdie]),
			(Dave, vec![Dave, Ferdie]),
		],
	)
}

/// The preset called `id`, as JSON bytes.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{BuildStorage, Hosts, Keys, Runtime, ValidatorSet};

	fn build(preset: Value) -> sp_io::TestExternalities {
		let config: RuntimeGenesisConfig =
			serde_json::from_value(preset).expect("preset is a full genesis config");
		config.build_storage().expect("preset builds").into()
	}

	#[test]
	fn local_preset_has_three_validators_and_five_authorised_nodes() {
		build(local_config_genesis()).execute_with(|| {
			assert_eq!(ValidatorSet::validator_accounts().len(), 3);
			assert_eq!(pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(), 3);
			assert_eq!(pallet_node_authorization::WellKnownNodes::<Runtime>::get().len(), 5);
			pallet_validator_set::Pallet::<Runtime>::do_try_state().expect("consistent");
		});
	}

	#[test]
	fn local_preset_lets_the_demo_chat_at_once() {
		build(local_config_genesis()).execute_with(|| {
			for (who, key) in DEV_DEVICE_KEYS {
				assert_eq!(Keys::devices(who.to_account_id()), vec![key]);
				let hosts = Hosts::hosts_of(who.to_account_id());
				assert!(!hosts.is_empty(), "{who} chose an admitted host");
			}
			pallet_quarks_keys::Pallet::<Runtime>::do_try_state().expect("consistent");
			pallet_quarks_hosts::Pallet::<Runtime>::do_try_state().expect("consistent");
		});
	}

	#[test]
	fn development_preset_has_one_validator() {
		build(development_config_genesis()).execute_with(|| {
			assert_eq!(
				ValidatorSet::validator_accounts(),
				vec![Sr25519Keyring::Alice.to_account_id()]
			);
		});
	}
}
