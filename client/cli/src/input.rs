//! What the CLI reads: accounts, device keys, the passphrase; the session it opens.

use crate::args::Cli;
use quarks_client::{
	chain::{failover::Nodes, Chain, Wait},
	inbox::ReadOptions,
	keystore::Keystore,
	messenger::Messenger,
	proofs::Genesis,
};
use quarks_primitives::DeviceKey;
use std::{
	path::Path,
	sync::{Arc, OnceLock},
};

/// What a command returns: its error is printed.
pub type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

pub fn parse_device(text: &str) -> Fallible<DeviceKey> {
	array_bytes::hex2array::<_, 32>(text)
		.map_err(|e| format!("not a device key (0x and 64 hex digits): {text}: {e:?}").into())
}

pub fn passphrase(confirm: bool) -> Fallible<String> {
	if let Ok(passphrase) = std::env::var("QUARKS_PASSPHRASE") {
		return Ok(passphrase);
	}
	let first = rpassword::prompt_password("Keystore passphrase: ")?;
	if confirm && rpassword::prompt_password("Repeat passphrase: ")? != first {
		return Err("the passphrases differ".into());
	}
	Ok(first)
}

pub fn wait_for(finalized: bool) -> Wait {
	if finalized {
		Wait::Finalized
	} else {
		Wait::InBlock
	}
}

pub async fn messenger(cli: &Cli) -> Fallible<Messenger> {
	let keystore = Keystore::open(cli.keystore(), &passphrase(false)?)?;
	let messenger = Messenger::new(connect(cli).await?, keystore)?;
	// A device that proved no finality yet follows it from the genesis the user trusts,
	// not from its node's first answer; one that did keeps its own checkpoint.
	if let Some(spec) = &cli.chain_spec {
		let chain = &messenger.chain;
		if chain.checkpoint().await.is_none() {
			let checkpoint = read_spec(spec)?.checkpoint(chain.genesis()).map_err(|_| {
				format!(
					"the node follows another network than {} describes (its genesis is {:?})",
					spec.display(),
					chain.genesis()
				)
			})?;
			chain.trust(checkpoint).await?;
		}
	}
	match messenger.import_old_letters().await {
		Ok(0) => {}
		Ok(n) => eprintln!("{n} letter(s) kept before the message database are in history now"),
		Err(e) => eprintln!(
			"warning: letters kept before the message database are not in history yet: {e}"
		),
	}
	Ok(messenger)
}

/// The genesis a raw chain spec describes: what finality is followed from.
pub fn read_spec(spec: &Path) -> Fallible<Genesis> {
	let json: serde_json::Value = serde_json::from_slice(&std::fs::read(spec)?)
		.map_err(|e| format!("{}: not a chain spec: {e}", spec.display()))?;
	Ok(Genesis::from_spec(&json)?)
}

/// The nodes this process connected to, for the warnings at its end.
static NODES: OnceLock<Arc<Nodes>> = OnceLock::new();

/// Connects to the nodes `--url` names.
pub async fn connect(cli: &Cli) -> Fallible<Chain> {
	let chain = Chain::connect(cli.url()).await?;
	let _ = NODES.set(chain.nodes().clone());
	Ok(chain)
}

/// Tells the user of each node whose answer failed its proof: the next node was asked,
/// and only what was proven believed.
pub fn warn_of_disagreements() {
	for disagreement in NODES.get().map(|nodes| nodes.disagreements()).unwrap_or_default() {
		eprintln!("warning: {disagreement}");
	}
}

pub fn read_options(follow: bool, acknowledge: bool) -> ReadOptions {
	ReadOptions {
		follow,
		count: None,
		timeout: None,
		acknowledge,
		sync_every: None,
		update_every: None,
	}
}
