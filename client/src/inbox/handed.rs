//! Telling hosts what this device has. A host keeps a message for the account until every
//! device of it that counts said it has it (docs/protocol.md, "Per-device delivery"), so a
//! device that was away misses nothing another device read. A device says so only of mail
//! it keeps for good (final, and acknowledged on chain by the account) and of mail no
//! later state of it could open (`ReadError::is_for_good`).

use super::follow::Source;
use crate::hosts::Mailbox;
use quarks_primitives::{mailbox::MAX_PAGE_ENTRIES, DeviceKey};
use sp_core::H256;
use std::{
	collections::{BTreeMap, BTreeSet},
	sync::Arc,
	time::Duration,
};

/// How long a host has to take one request.
const TELL_TIMEOUT: Duration = Duration::from_secs(5);
/// Most hashes waiting to be told to one host: beyond it (a host away for long) they are
/// not kept, and the host hears them when this device next reads that mail there.
const MAX_UNTOLD: usize = 4096;

/// What this device has and each host was not told yet, by host.
#[derive(Default)]
pub(super) struct Untold(BTreeMap<Source, BTreeSet<H256>>);

impl Untold {
	/// `source`'s host is to be told that this device has `hash`.
	pub(super) fn add(&mut self, source: Source, hash: H256) {
		let untold = self.0.entry(source).or_default();
		if untold.len() < MAX_UNTOLD {
			untold.insert(hash);
		}
	}

	pub(super) fn is_empty(&self) -> bool {
		self.0.is_empty()
	}

	/// Everything, for [`tell`]; what it could not tell comes back through [`Self::put_back`].
	pub(super) fn take(&mut self) -> Untold {
		Untold(std::mem::take(&mut self.0))
	}

	pub(super) fn put_back(&mut self, untold: Untold) {
		for (source, hashes) in untold.0 {
			for hash in hashes {
				self.add(source, hash);
			}
		}
	}
}

/// Tells each host what it is due, [`MAX_PAGE_ENTRIES`] hashes per request, all hosts at
/// once; returns what a host did not take (it was away, or did not answer in time). A host
/// that never hears it still keeps the mail, and this device says so again when it next
/// reads that mail there.
pub(super) async fn tell(
	mailboxes: Arc<Vec<Arc<Mailbox>>>,
	device: DeviceKey,
	due: Untold,
) -> Untold {
	let requests = due.0.into_iter().map(|(source, hashes)| {
		let mailboxes = mailboxes.clone();
		async move {
			let Some(mailbox) = mailboxes.get(source) else { return (source, Vec::new()) };
			let hashes: Vec<H256> = hashes.into_iter().collect();
			let mut untold = Vec::new();
			for chunk in hashes.chunks(MAX_PAGE_ENTRIES as usize) {
				let told =
					tokio::time::timeout(TELL_TIMEOUT, mailbox.received(device, chunk.to_vec()));
				if !matches!(told.await, Ok(Ok(_))) {
					untold.extend_from_slice(chunk);
				}
			}
			(source, untold)
		}
	});
	let mut left = Untold::default();
	for (source, untold) in futures::future::join_all(requests).await {
		for hash in untold {
			left.add(source, hash);
		}
	}
	left
}
