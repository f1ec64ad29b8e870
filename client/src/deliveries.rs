//! Delivery ticks: for this account's final messages, the recipients whose receipts the
//! chain holds. A delivery shown is one the chain proves (the recipient's own signed
//! receipt), not one a host or a peer claims.

use crate::{error::ClientError, messenger::Messenger, queries, send::now_ms};
use quarks_primitives::{envelope::Envelope, Destination};
use sp_core::crypto::AccountId32;
use std::collections::HashMap;

/// How long after sending a message its receipts are looked for.
const FOLLOW_FOR_MS: u64 = 7 * 24 * 3600 * 1000;
/// Most messages looked up per pass (two chain reads each at most), in turn.
const PER_PASS: u32 = 16;

impl Messenger {
	/// Reads the chain for receipts of this account's final messages of the last week
	/// that some recipient has not acknowledged yet, [`PER_PASS`] at a time in turn, and
	/// records each new one. Returns how many were new.
	pub async fn check_deliveries(&self) -> Result<usize, ClientError> {
		let now = now_ms();
		let mut recipients_of: HashMap<Destination<AccountId32>, Vec<AccountId32>> = HashMap::new();
		let mut new = 0usize;
		for hash in self.database.undelivered(now.saturating_sub(FOLLOW_FOR_MS), PER_PASS)? {
			self.database.set_delivery_checked(&hash, now)?;
			let envelope = self
				.store
				.get(&hash)?
				.and_then(|bytes| Envelope::<AccountId32>::decode_checked(&bytes).ok());
			// Without its envelope, nothing says whom it was for.
			let Some(envelope) = envelope else {
				self.database.set_delivered(&hash)?;
				continue;
			};
			let recipients = match recipients_of.get(&envelope.destination) {
				Some(recipients) => recipients.clone(),
				None => {
					let recipients: Vec<AccountId32> =
						queries::recipients(&self.chain, &envelope.destination)
							.await?
							.into_iter()
							.filter(|r| r != self.account())
							.collect();
					recipients_of.insert(envelope.destination.clone(), recipients.clone());
					recipients
				}
			};
			let receipted =
				queries::acknowledged_by(&self.chain, &hash, recipients.clone()).await?;
			for recipient in &receipted {
				new += usize::from(self.database.record_delivery(&hash, recipient)?);
			}
			if receipted.len() == recipients.len() {
				self.database.set_delivered(&hash)?;
			}
		}
		Ok(new)
	}
}
