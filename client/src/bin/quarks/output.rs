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
		Update::Committed { group, epoch } => eprintln!("committed group {group} epoch {epoch}"),
		Update::CommitFailed { group, error } => eprintln!("group {group}: commit failed: {error}"),
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
