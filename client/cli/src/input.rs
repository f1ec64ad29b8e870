//! What the CLI reads: accounts, device keys, the passphrase; the session it opens.

use crate::args::Cli;
use quarks_client::{
	chain::{Chain, Wait},
	inbox::ReadOptions,
	keystore::Keystore,
	messenger::Messenger,
};
use quarks_primitives::DeviceKey;

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
	let chain = Chain::connect(cli.url()).await?;
	Ok(Messenger::new(chain, keystore)?)
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
