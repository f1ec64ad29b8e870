//! What the chosen hosts keep for this account: listed, de-duplicated, deleted; and whose
//! mail it accepted, so that strangers share one part of its quota there.

use crate::{
	chain::ChainError, error::ClientError, hosts::MailboxEntry, messenger::Messenger, seal,
};
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	mailbox::{MAX_CONTACTS, MAX_PAGE_ENTRIES},
	Destination, GroupId,
};
use sp_core::{crypto::AccountId32, H256};
use std::{
	collections::{HashMap, HashSet},
	time::Duration,
};

/// How long one host has to list a mailbox.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

impl Messenger {
	/// The mail kept at every chosen host, one entry per envelope (hosts keep copies of the
	/// same envelope; its recomputed hash identifies it, and a copy its sender signed wins
	/// over one a host forged), welcomes first so a device joins before the mail of its
	/// groups.
	pub async fn fetch(&self) -> Result<Vec<MailboxEntry>, ClientError> {
		let mut entries: Vec<(H256, MailboxEntry)> = Vec::new();
		let mut seen: HashMap<H256, usize> = HashMap::new();
		let signed = |entry: &MailboxEntry, hash: &H256| {
			seal::parse(&entry.envelope)
				.is_ok_and(|(envelope, _)| self.signed_by_sender(entry, &envelope.sender, hash))
		};
		// Every host at once, each within a deadline: a silent or lying host delays
		// nobody's mail from the others; only if none answers is there an error.
		let mailboxes = self.mailboxes().await?;
		let fetches = mailboxes.iter().map(|mailbox| async move {
			tokio::time::timeout(FETCH_TIMEOUT, mailbox.fetch()).await.unwrap_or_else(|_| {
				Err(ChainError::Rpc(format!(
					"host {} did not answer within {FETCH_TIMEOUT:?}",
					mailbox.host().operator
				)))
			})
		});
		let mut answered = Vec::new();
		let mut failure = None;
		for fetched in futures::future::join_all(fetches).await {
			match fetched {
				Ok(mail) => answered.push(mail),
				Err(e) => failure = Some(e),
			}
		}
		if answered.is_empty() {
			if let Some(failure) = failure {
				return Err(failure.into());
			}
		}
		for mail in answered {
			for entry in mail {
				let hash = hash_of(&entry.envelope);
				match seen.get(&hash) {
					None => {
						seen.insert(hash, entries.len());
						entries.push((hash, entry));
					}
					Some(&at) if !signed(&entries[at].1, &hash) && signed(&entry, &hash) => {
						entries[at].1 = entry
					}
					Some(_) => {}
				}
			}
		}
		entries.sort_by_key(|(_, e)| (is_group(&e.envelope), e.position));
		Ok(entries.into_iter().map(|(_, e)| e).collect())
	}

	/// Has every chosen host stop keeping `envelopes` for this account, without receipts:
	/// mail the user does not want kept, freeing their quota. Returns the copies deleted.
	pub async fn delete_mail(&self, envelopes: &[H256]) -> Result<u32, ClientError> {
		let mut deleted = 0u32;
		for mailbox in self.mailboxes().await? {
			for chunk in envelopes.chunks(MAX_PAGE_ENTRIES as usize) {
				deleted = deleted.saturating_add(mailbox.delete(chunk.to_vec()).await?);
			}
		}
		Ok(deleted)
	}

	/// The accounts whose mail this account accepted: its contacts, then the members of
	/// every conversation it accepted (a 1:1's peer, a group's members), without itself or
	/// anyone it blocked; at most [`MAX_CONTACTS`], sorted.
	pub fn accepted_senders(&self) -> Result<Vec<AccountId32>, ClientError> {
		let contacts = self.database.contacts()?.into_iter().map(|contact| contact.account);
		let mut members = Vec::new();
		let groups: Vec<GroupId> = self.device(|d| d.groups().collect());
		for group in groups {
			if self.database.request(group)?.is_none() {
				let devices = self.device(|d| d.members(group)).unwrap_or_default();
				members.extend(devices.into_iter().map(|device| device.account));
			}
		}
		let mut seen = HashSet::new();
		let mut accepted = Vec::new();
		for account in contacts.chain(members) {
			if accepted.len() >= MAX_CONTACTS as usize {
				break;
			}
			if &account != self.account()
				&& seen.insert(account.clone())
				&& !self.database.is_blocked(&account)?
			{
				accepted.push(account);
			}
		}
		accepted.sort();
		Ok(accepted)
	}

	/// The envelopes from `sender` that the chosen hosts keep for this account.
	pub async fn mail_from(&self, sender: &AccountId32) -> Result<Vec<H256>, ClientError> {
		Ok(self
			.fetch()
			.await?
			.iter()
			.filter(|entry| {
				seal::parse(&entry.envelope).is_ok_and(|(envelope, _)| &envelope.sender == sender)
			})
			.map(|entry| hash_of(&entry.envelope))
			.collect())
	}
}

fn is_group(bytes: &[u8]) -> bool {
	Envelope::<AccountId32>::decode_checked(bytes)
		.is_ok_and(|e| matches!(e.destination, Destination::Group { .. }))
}
