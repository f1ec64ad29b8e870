//! Letters a client before the message database kept only in its mail store: imported into
//! history once, each opened by its kept message key, dated by when the store kept it, and
//! its notarization read again from the chain.

use crate::{database::MessageState, error::ClientError, messenger::Messenger, seal};
use quarks_primitives::{envelope::hash_of, Destination};
use std::collections::BTreeSet;

impl Messenger {
	/// Imports into the message database every letter of the mail store it lacks, once per
	/// device; returns how many. They are history, not news: their conversations are not
	/// marked unread, nor their senders told they were read. A letter that no longer opens
	/// (content this client cannot read) is left out, one the chain refuses is kept as not
	/// notarized; a chain that cannot answer now stops the import, and the next call takes
	/// it up again.
	pub async fn import_old_letters(&self) -> Result<usize, ClientError> {
		if self.store.letters_imported() {
			return Ok(0);
		}
		let (mut imported, mut groups) = (Vec::new(), BTreeSet::new());
		for bytes in self.store.all()? {
			let hash = hash_of(&bytes);
			if self.database.is_final(&hash)? || self.store.message_key(&hash)?.is_none() {
				continue;
			}
			let Ok((envelope, body)) = seal::parse(&bytes) else { continue };
			let opened = self.open_checked(&bytes, envelope, body, hash).await;
			let mut received = match opened {
				Ok(received) => received,
				Err(error) if error.may_resolve() => return Err(error.into()),
				Err(_) => continue,
			};
			received.membership = self.store.membership(&hash)?;
			if !self.database.has_message(&hash)? {
				let at = self.store.kept_at(&hash)?.unwrap_or_default();
				if self.record_letter_at(&received, at)? {
					imported.push(hash);
					if let Destination::Group { group, .. } = received.leaf.destination {
						groups.insert(group);
					}
				}
			}
			match self.check_notarization(&mut received).await {
				Err(error) if error.may_resolve() => return Err(error.into()),
				// Refused now (a device not bound at its block): kept, not shown as true.
				Err(_) => self.database.set_state(&hash, &MessageState::NotNotarized)?,
				Ok(()) => {}
			}
		}
		for group in groups {
			self.database.mark_read(group)?;
		}
		self.database.set_reported(&imported)?;
		self.store.mark_letters_imported()?;
		Ok(imported.len())
	}
}
