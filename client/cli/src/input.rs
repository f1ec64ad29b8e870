//! What the CLI reads: accounts, device keys, the passphrase; the session it opens.

use crate::args::Cli;
use quarks_client::{
	chain::{failover::Nodes, Chain, Wait},
	inbox::ReadOptions,
	keystore::Keystore,
	messenger::Messenger,
};
use quarks_primitives::DeviceKey;
use std::sync::{Arc, OnceLock};

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
	Ok(Messenger::new(connect(cli).await?, keystore)?)
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
