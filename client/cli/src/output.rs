//! What the CLI prints: addresses, device keys, notarization states, received mail,
//! and a transaction's progress.

use indicatif::{ProgressBar, ProgressStyle};
use quarks_client::{
	chain::Progress,
	error::ReadError,
	inbox::{Delivered, Notarization, Received, Update},
	seal::Content,
};
use quarks_primitives::{Destination, DeviceKey};
use sp_core::crypto::{AccountId32, Ss58Codec};
use std::{io::IsTerminal, time::Duration};

pub fn address(account: &AccountId32) -> String {
	account.to_ss58check()
}

/// A time (milliseconds since the Unix epoch) in this machine's time zone.
pub fn time(ms: u64) -> String {
	let utc = i64::try_from(ms).ok().and_then(chrono::DateTime::from_timestamp_millis);
	utc.map_or_else(
		|| "?".into(),
		|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string(),
	)
}

pub fn device(key: &DeviceKey) -> String {
	array_bytes::bytes2hex("0x", key)
}

pub fn describe(destination: &Destination<AccountId32>) -> String {
	match destination {
		Destination::Direct(to) => address(to),
		Destination::Group { group, epoch } => format!("group {group} (epoch {epoch})"),
	}
}

pub fn notarization(state: Notarization) -> String {
	match state {
		Notarization::Pending => "pending".into(),
		Notarization::Anchored(block) => format!("anchored in block #{block}"),
		Notarization::Final(block) => format!("final, anchored in block #{block}"),
		Notarization::NotNotarized => "NOT NOTARIZED: no anchor came".into(),
	}
}

pub fn show(received: &Received) {
	let from = address(&received.sender);
	let state = notarization(received.notarization);
	match &received.delivered {
		Delivered::Letter { opened, content: Content::Text(text) } => println!(
			"[{state}] {from} → {}: {text}\n         hash {:?}",
			describe(&opened.destination),
			received.hash
		),
		Delivered::Letter { opened, content: Content::Read(hashes) } => println!(
			"[{state}] {from} read {} of your messages in {}",
			hashes.len(),
			describe(&opened.destination)
		),
		Delivered::Welcome { group, epoch, joined: true } => {
			println!("[{state}] {from} added you to group {group} (epoch {epoch})")
		}
		Delivered::Welcome { .. } => {}
	}
}

pub fn report(update: &Update) {
	match update {
		Update::Shown(received) => show(received),
		Update::Notarized { hash, notarization: state } => {
			println!("  {hash:?} {}", notarization(*state))
		}
		// Another device's welcome, or mail from before this device joined, is not this
		// device's to read.
		Update::Rejected {
			error:
				ReadError::ForAnotherDevice
				| ReadError::BeforeJoined { .. }
				| ReadError::StaleWelcome { .. },
			..
		} => {}
		Update::Rejected { hash, error } => println!("{hash:?} rejected: {error}"),
		Update::Acknowledged(n) => eprintln!("acknowledged {n} message(s)"),
		Update::AcknowledgeFailed(error) => eprintln!("receipts not sent yet: {error}"),
		Update::Committed { group, epoch } => eprintln!("committed group {group} epoch {epoch}"),
		Update::CommitFailed { group, error } => eprintln!("group {group}: commit failed: {error}"),
		Update::Left { group } => {
			eprintln!(
				"you are no longer a member of group {group}: you read nothing sent there now"
			)
		}
	}
}

/// Shows a transaction's progress: a spinner on a terminal, a line per step otherwise.
pub struct Steps(Option<ProgressBar>);

impl Steps {
	pub fn new(what: &str) -> Self {
		if !std::io::stderr().is_terminal() {
			eprintln!("{what}");
			return Self(None);
		}
		let bar = ProgressBar::new_spinner();
		bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid"));
		bar.enable_steady_tick(Duration::from_millis(120));
		bar.set_message(what.to_owned());
		Self(Some(bar))
	}

	pub fn step(&self, progress: Progress) {
		let text = match progress {
			Progress::Relaying => "envelope handed to the node for relay".to_owned(),
			Progress::Submitted => "transaction accepted by the node".to_owned(),
			Progress::Broadcast => "transaction broadcast".to_owned(),
			Progress::InBlock(n) => format!("in block #{n}"),
			Progress::Finalized(n) => format!("finalized in block #{n}"),
		};
		match &self.0 {
			Some(bar) => bar.set_message(text),
			None => eprintln!("  … {text}"),
		}
	}

	pub fn reporter(&self) -> impl FnMut(Progress) + Send + '_ {
		move |progress| self.step(progress)
	}

	pub fn done(self) {
		if let Some(bar) = self.0 {
			bar.finish_and_clear();
		}
	}
}

/// `secs` as a person says it: "7 days", "2 hours", "90 seconds".
pub fn duration(secs: u64) -> String {
	let units = [(86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")];
	let (size, unit) = units
		.into_iter()
		.find(|(size, _)| secs >= *size && secs % size == 0)
		.unwrap_or((1, "second"));
	let n = secs / size;
	format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `n` bytes in the largest binary unit that holds it whole: "64 MiB", "1536 KiB".
pub fn bytes(n: u64) -> String {
	let units = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
	match units.into_iter().find(|(size, _)| n >= *size && n % size == 0) {
		Some((size, unit)) => format!("{} {unit}", n / size),
		None => format!("{n} bytes"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn terms_read_as_a_person_says_them() {
		assert_eq!(duration(604_800), "7 days");
		assert_eq!(duration(7_200), "2 hours");
		assert_eq!(duration(90), "90 seconds");
		assert_eq!(duration(60), "1 minute");
		assert_eq!(bytes(64 << 20), "64 MiB");
		assert_eq!(bytes(1536 << 10), "1536 KiB");
		assert_eq!(bytes(1 << 30), "1 GiB");
		assert_eq!(bytes(1000), "1000 bytes");
	}
}
