//! Operators' tools for a network of their own keys (docs/operations.md):
//!
//! - `quarks-node network keys` makes a node's keys where the node will use them — its
//!   libp2p node key and, for a validator, its block-authoring (Aura) and finality
//!   (GRANDPA) keys in its keystore — and prints only their public parts;
//! - `quarks-node network spec` writes the chain spec of a network from a small TOML file
//!   naming its validators, authorised nodes, hosts, privileged account and balances.
//!
//! Secrets never leave the node's base path: what operators exchange to write the network
//! file is the public output of `network keys`.

use quarks_runtime::{
	genesis_config_presets::{network_genesis, GenesisHost, NetworkGenesis},
	AccountId, AuraId, Balance, BlockNumber, GrandpaId, UNIT,
};
use sc_network_types::{ed25519, PeerId};
use serde::{Deserialize, Serialize};
use sp_core::{
	crypto::{key_types, Ss58Codec},
	OpaquePeerId,
};
use sp_keystore::Keystore;
use std::{
	fs,
	io::Write,
	os::unix::fs::OpenOptionsExt,
	path::{Path, PathBuf},
	str::FromStr,
};

/// Operators' tools.
#[derive(Debug, clap::Subcommand)]
pub enum NetworkCmd {
	/// Make this node's keys under its base path, for a chain id, and print the public
	/// parts to put in the network file.
	///
	/// Writes the libp2p node key (`<base>/chains/<id>/network/secret_ed25519`) and, with
	/// `--validator`, an Aura (sr25519) and a GRANDPA (ed25519) key in the node's keystore
	/// (`<base>/chains/<id>/keystore`). Keys already there are kept, never overwritten, so
	/// running it again prints the same public keys.
	Keys(KeysCmd),
	/// Write the chain spec of a network described by a TOML file (see
	/// docs/operations.md) to standard output.
	Spec(SpecCmd),
}

/// `quarks-node network keys`.
#[derive(Debug, clap::Args)]
pub struct KeysCmd {
	/// The node's base path, as it will be given to `--base-path`.
	#[arg(long, value_name = "PATH")]
	pub base_path: PathBuf,
	/// The chain id from the network file (`id`): it names the node's directory.
	#[arg(long, value_name = "ID")]
	pub chain_id: String,
	/// Also make the session keys of a validator.
	#[arg(long)]
	pub validator: bool,
}

/// `quarks-node network spec`.
#[derive(Debug, clap::Args)]
pub struct SpecCmd {
	/// The network file.
	#[arg(long, value_name = "FILE")]
	pub config: PathBuf,
	/// Write the raw spec (genesis as storage), which every operator should share.
	#[arg(long)]
	pub raw: bool,
}

/// What `network keys` prints: the public parts of a node's keys.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct NodeKeys {
	/// The node's libp2p peer id.
	pub peer_id: String,
	/// The validator's block-authoring key (SS58), if it is one.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub aura: Option<String>,
	/// The validator's finality key (SS58), if it is one.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub grandpa: Option<String>,
}

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
	/// A file could not be read or written.
	#[error("{path}: {error}")]
	Io {
		/// The file.
		path: PathBuf,
		/// What went wrong.
		error: std::io::Error,
	},
	/// The keystore refused.
	#[error("keystore at {0}: {1}")]
	Keystore(PathBuf, String),
	/// The network file is not valid.
	#[error("network file: {0}")]
	Config(String),
	/// The spec could not be built.
	#[error("chain spec: {0}")]
	Spec(String),
}

impl From<OperatorError> for sc_cli::Error {
	fn from(error: OperatorError) -> Self {
		sc_cli::Error::Input(error.to_string())
	}
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OperatorError + '_ {
	move |error| OperatorError::Io { path: path.to_owned(), error }
}

impl KeysCmd {
	/// Makes (or finds) the keys and prints their public parts as JSON.
	pub fn run(&self) -> Result<(), OperatorError> {
		let keys = self.make()?;
		let json =
			serde_json::to_string_pretty(&keys).map_err(|e| OperatorError::Spec(e.to_string()))?;
		println!("{json}");
		Ok(())
	}

	fn make(&self) -> Result<NodeKeys, OperatorError> {
		let chain_dir = self.base_path.join("chains").join(&self.chain_id);
		let peer_id = node_key(&chain_dir.join("network"))?;
		let (mut aura, mut grandpa) = (None, None);
		if self.validator {
			let path = chain_dir.join("keystore");
			let keystore = sc_keystore::LocalKeystore::open(&path, None)
				.map_err(|e| OperatorError::Keystore(path.clone(), e.to_string()))?;
			let refused =
				|e: sp_keystore::Error| OperatorError::Keystore(path.clone(), e.to_string());
			let aura_key = match keystore.sr25519_public_keys(key_types::AURA).first() {
				Some(key) => *key,
				None => keystore.sr25519_generate_new(key_types::AURA, None).map_err(refused)?,
			};
			let grandpa_key = match keystore.ed25519_public_keys(key_types::GRANDPA).first() {
				Some(key) => *key,
				None => keystore.ed25519_generate_new(key_types::GRANDPA, None).map_err(refused)?,
			};
			aura = Some(AuraId::from(aura_key).to_ss58check());
			grandpa = Some(GrandpaId::from(grandpa_key).to_ss58check());
		}
		Ok(NodeKeys { peer_id, aura, grandpa })
	}
}

/// The peer id of the node key in `dir`, made first if there is none. The file holds the
/// hex secret, as `quarks-node key generate-node-key` writes it, readable by its owner only.
fn node_key(dir: &Path) -> Result<String, OperatorError> {
	let path = dir.join("secret_ed25519");
	let secret = match fs::read(&path) {
		Ok(hex) => {
			let bytes = array_bytes::hex2bytes(String::from_utf8_lossy(&hex).trim())
				.map_err(|e| OperatorError::Config(format!("{}: {e:?}", path.display())))?;
			ed25519::SecretKey::try_from_bytes(bytes)
				.map_err(|e| OperatorError::Config(format!("{}: {e}", path.display())))?
		}
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
			fs::create_dir_all(dir).map_err(io_error(dir))?;
			let secret = ed25519::SecretKey::generate();
			let mut file = fs::OpenOptions::new()
				.write(true)
				.create_new(true)
				.mode(0o600)
				.open(&path)
				.map_err(io_error(&path))?;
			file.write_all(array_bytes::bytes2hex("", secret.to_bytes()).as_bytes())
				.and_then(|()| file.sync_all())
				.map_err(io_error(&path))?;
			secret
		}
		Err(e) => return Err(io_error(&path)(e)),
	};
	Ok(ed25519::Keypair::from(secret).public().to_peer_id().to_base58())
}

/// The network file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
	/// The chain's name, shown by clients.
	pub name: String,
	/// The chain id: names each node's directory under its base path.
	pub id: String,
	/// The privileged account (the sudo key), SS58.
	pub privileged: String,
	/// Multiaddrs nodes dial first.
	#[serde(default)]
	pub bootnodes: Vec<String>,
	/// The validators.
	pub validators: Vec<ValidatorEntry>,
	/// Other nodes allowed to connect (hosts, full nodes).
	#[serde(default)]
	pub nodes: Vec<NodeEntry>,
	/// Mail hosts admitted from genesis.
	#[serde(default)]
	pub hosts: Vec<HostEntry>,
	/// Initial balances.
	#[serde(default)]
	pub balances: Vec<BalanceEntry>,
	/// Whether host endpoints may name loopback or private addresses (a network on one
	/// machine or a LAN); off unless set.
	#[serde(default)]
	pub allow_private_endpoints: bool,
}

/// A validator: `network keys --validator` printed its keys.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEntry {
	/// Its node's peer id.
	pub peer_id: String,
	/// Its Aura key.
	pub aura: String,
	/// Its GRANDPA key.
	pub grandpa: String,
	/// The account that names it in the validator set and owns its node; the Aura key's
	/// account if not given.
	pub account: Option<String>,
}

/// An authorised node that does not validate.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
	/// Its peer id.
	pub peer_id: String,
	/// The account that owns it.
	pub owner: String,
}

/// A mail host.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
	/// The operator's account (what the host node's `--host` names).
	pub operator: String,
	/// Where clients and relays reach it (`ws://`, `wss://`, `http://`, `https://`).
	pub endpoint: String,
	/// Blocks it keeps undelivered mail (at most the chain's message retention).
	pub retention_blocks: BlockNumber,
	/// Bytes it stores in all.
	pub capacity_bytes: u64,
	/// Bytes it stores per user.
	pub user_quota_bytes: u64,
}

/// An initial balance.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct BalanceEntry {
	/// The account.
	pub account: String,
	/// Whole QRK.
	pub qrk: u64,
}

fn parse<T: Ss58Codec>(what: &str, text: &str) -> Result<T, OperatorError> {
	T::from_ss58check_with_version(text)
		.map(|(value, _)| value)
		.map_err(|e| OperatorError::Config(format!("{what} {text:?} is not SS58: {e}")))
}

fn peer(text: &str) -> Result<OpaquePeerId, OperatorError> {
	PeerId::from_str(text)
		.map(|peer| OpaquePeerId(peer.to_bytes()))
		.map_err(|e| OperatorError::Config(format!("peer id {text:?}: {e}")))
}

impl NetworkConfig {
	/// Reads and parses a network file.
	pub fn load(path: &Path) -> Result<Self, OperatorError> {
		let text = fs::read_to_string(path).map_err(io_error(path))?;
		toml::from_str(&text).map_err(|e| OperatorError::Config(e.to_string()))
	}

	/// The genesis this file describes.
	pub fn genesis(&self) -> Result<NetworkGenesis, OperatorError> {
		if self.validators.is_empty() {
			return Err(OperatorError::Config("a network needs at least one validator".into()));
		}
		let mut validators = Vec::new();
		let mut nodes = Vec::new();
		for v in &self.validators {
			let aura: AuraId = parse("aura key", &v.aura)?;
			let account = match &v.account {
				Some(account) => parse("validator account", account)?,
				None => AccountId::from(aura.clone().into_inner()),
			};
			nodes.push((peer(&v.peer_id)?, account.clone()));
			validators.push((account, aura, parse("grandpa key", &v.grandpa)?));
		}
		for node in &self.nodes {
			nodes.push((peer(&node.peer_id)?, parse("node owner", &node.owner)?));
		}
		let hosts = self
			.hosts
			.iter()
			.map(|h| {
				Ok(GenesisHost {
					operator: parse("host operator", &h.operator)?,
					endpoint: h.endpoint.clone().into_bytes(),
					retention: h.retention_blocks,
					capacity: h.capacity_bytes,
					user_quota: h.user_quota_bytes,
				})
			})
			.collect::<Result<_, OperatorError>>()?;
		let balances = self
			.balances
			.iter()
			.map(|b| Ok((parse("balance account", &b.account)?, Balance::from(b.qrk) * UNIT)))
			.collect::<Result<_, OperatorError>>()?;
		Ok(NetworkGenesis {
			validators,
			nodes,
			balances,
			root: parse("privileged account", &self.privileged)?,
			hosts,
			devices: Vec::new(),
			choices: Vec::new(),
			allow_private_endpoints: self.allow_private_endpoints,
		})
	}
}

impl SpecCmd {
	/// Writes the chain spec to standard output.
	pub fn run(&self) -> Result<(), OperatorError> {
		let config = NetworkConfig::load(&self.config)?;
		let spec = crate::chain_spec::network_chain_spec(
			&config.name,
			&config.id,
			network_genesis(config.genesis()?),
			&config.bootnodes,
		)
		.map_err(OperatorError::Spec)?;
		let json = sc_service::ChainSpec::as_json(&spec, self.raw).map_err(OperatorError::Spec)?;
		println!("{json}");
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn keys_are_made_once_and_then_found() {
		let dir = tempfile::tempdir().expect("temp dir");
		let cmd =
			KeysCmd { base_path: dir.path().into(), chain_id: "acme".into(), validator: true };
		let first = cmd.make().expect("keys made");
		assert!(first.aura.is_some() && first.grandpa.is_some());
		assert_eq!(cmd.make().expect("keys found"), first, "running again changes nothing");
		let secret = dir.path().join("chains/acme/network/secret_ed25519");
		let mode = fs::metadata(&secret).expect("node key written").permissions();
		assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
	}

	#[test]
	fn a_network_file_becomes_a_genesis() {
		let dir = tempfile::tempdir().expect("temp dir");
		let keys =
			KeysCmd { base_path: dir.path().into(), chain_id: "acme".into(), validator: true }
				.make()
				.expect("keys");
		let account = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
		let file = format!(
			r#"
			name = "Acme"
			id = "acme"
			privileged = "{account}"
			[[validators]]
			peer_id = "{}"
			aura = "{}"
			grandpa = "{}"
			[[hosts]]
			operator = "{account}"
			endpoint = "wss://mail.acme.example"
			retention_blocks = 100
			capacity_bytes = 1000000
			user_quota_bytes = 1000
			[[balances]]
			account = "{account}"
			qrk = 5
			"#,
			keys.peer_id,
			keys.aura.as_deref().unwrap_or_default(),
			keys.grandpa.as_deref().unwrap_or_default(),
		);
		let config: NetworkConfig = toml::from_str(&file).expect("parses");
		let genesis = config.genesis().expect("valid");
		assert_eq!(genesis.validators.len(), 1);
		assert_eq!(genesis.nodes.len(), 1, "the validator's node is authorised");
		assert_eq!(genesis.balances[0].1, 5 * UNIT);
		assert_eq!(genesis.hosts[0].endpoint, b"wss://mail.acme.example");

		let typo = file.replace("qrk = 5", "qrk = 5\nqkr = 1");
		assert!(toml::from_str::<NetworkConfig>(&typo).is_err(), "unknown fields are refused");
		let bad_peer = file.replace(&keys.peer_id, "not-a-peer");
		let config: NetworkConfig = toml::from_str(&bad_peer).expect("parses");
		assert!(matches!(config.genesis(), Err(OperatorError::Config(_))));
	}
}
