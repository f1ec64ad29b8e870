//! Where a message is anchored, as the chain says: hosts' claims only say where to look.

use super::{Notarization, Received};
use crate::{
	chain::{At, Chain, ChainError},
	database::{DatabaseError, Message, MessageState},
	error::ReadError,
	messenger::Messenger,
	queries,
	seal::Content,
	send::now_ms,
	BlockNumber,
};
use quarks_primitives::{
	hosting::BatchMembership,
	mailbox::Notarization as Claim,
	merkle::{single_proof, single_root, AnchorLeaf},
	AnchorRecord, Destination,
};
use sp_core::crypto::AccountId32;
use sp_core::H256;
use std::collections::HashMap;

/// Anchor reads shared by the messages checked in one pass, so messages batched under one
/// anchor cost one read.
#[derive(Default)]
pub(super) struct AnchorReads(HashMap<(AccountId32, H256, At), Option<AnchorRecord<BlockNumber>>>);

impl AnchorReads {
	/// Reads the anchors of `keys` at `at` in one call, for the pass to use.
	pub(super) async fn prefetch(
		&mut self,
		chain: &Chain,
		keys: Vec<(AccountId32, H256)>,
		at: At,
	) -> Result<(), ChainError> {
		let keys: Vec<(AccountId32, H256)> =
			keys.into_iter().filter(|(s, r)| !self.0.contains_key(&(s.clone(), *r, at))).collect();
		if keys.is_empty() {
			return Ok(());
		}
		for ((sender, root), anchor) in keys.iter().zip(queries::anchors(chain, &keys, at).await?) {
			self.0.insert((sender.clone(), *root, at), anchor);
		}
		Ok(())
	}

	/// The block of `sender`'s anchor covering `leaf` by `membership`, at `at`.
	async fn anchored_at(
		&mut self,
		chain: &Chain,
		sender: &AccountId32,
		leaf: &AnchorLeaf<AccountId32>,
		membership: &BatchMembership,
		at: At,
	) -> Result<Option<BlockNumber>, ChainError> {
		let key = (sender.clone(), membership.root, at);
		let anchor = match self.0.get(&key) {
			Some(anchor) => anchor.clone(),
			None => {
				let anchor = queries::anchor(chain, sender, &membership.root, at).await?;
				self.0.insert(key, anchor.clone());
				anchor
			}
		};
		Ok(anchor
			.filter(|a| a.covers(&membership.root, &leaf.value(), &membership.proof))
			.map(|a| a.anchored_at))
	}
}

/// The membership a host's claim names, if it has one.
pub(super) fn claimed(claim: &Claim<BlockNumber>) -> Option<BatchMembership> {
	match claim {
		Claim::Pending => None,
		Claim::Anchored { membership, .. } | Claim::Final { membership, .. } => {
			Some(membership.clone())
		}
	}
}

/// Where `received` may sit in its sender's anchor: once the chain confirmed its
/// membership, there only; before, where a caller or hosts said, or alone.
pub(super) fn candidates(received: &Received, claims: &[BatchMembership]) -> Vec<BatchMembership> {
	if let (Notarization::Anchored(_), Some(membership)) =
		(received.notarization, &received.membership)
	{
		return vec![membership.clone()];
	}
	let alone =
		BatchMembership { root: single_root(&received.leaf.value()), proof: single_proof() };
	let mut all: Vec<BatchMembership> = Vec::new();
	for membership in received.membership.iter().chain(claims).chain([&alone]) {
		if !all.contains(membership) {
			all.push(membership.clone());
		}
	}
	all
}

impl Messenger {
	/// Reads the chain for `received`'s anchor (by its membership, or as an envelope
	/// anchored alone): final at the finalized block, anchored at the best one, else it
	/// stays as it was. A final anchor needs the sender's key valid at its block.
	pub async fn check_notarization(&self, received: &mut Received) -> Result<(), ReadError> {
		self.check_with(received, &[], &mut AnchorReads::default()).await
	}

	/// Records a letter in the message database, with its notarization as it stands: a
	/// received one once its anchor is confirmed, this account's own as it advances.
	pub(super) fn record_letter(&self, received: &Received) -> Result<(), DatabaseError> {
		self.record_letter_at(received, now_ms()).map(|_| ())
	}

	/// [`Self::record_letter`], sent or received at `at` (milliseconds since the Unix
	/// epoch); whether it was new to the database.
	pub(super) fn record_letter_at(
		&self,
		received: &Received,
		at: u64,
	) -> Result<bool, DatabaseError> {
		let (Some((_, content)), Destination::Group { group, .. }) =
			(received.letter(), &received.leaf.destination)
		else {
			return Ok(false);
		};
		let text = match content {
			Content::Text(text) => text,
			// Another device of this account read them: nothing to count.
			Content::Read(_) if &received.sender == self.account() => return Ok(false),
			Content::Read(hashes) => {
				for hash in hashes {
					self.database.record_read(*group, hash, &received.sender)?;
				}
				return Ok(false);
			}
		};
		let state = match received.notarization {
			Notarization::Pending => MessageState::Pending,
			Notarization::Anchored(block) => MessageState::Anchored(block),
			Notarization::Final(block) => MessageState::Final(block),
			Notarization::NotNotarized => MessageState::NotNotarized,
		};
		self.database.add_conversation(*group, None, at)?;
		self.database.record(&Message {
			hash: received.hash,
			group: *group,
			sender: received.sender.clone(),
			outgoing: &received.sender == self.account(),
			text: text.clone(),
			at,
			state,
			read_by: 0,
			delivered_to: 0,
		})
	}

	/// [`Self::check_notarization`], trying `claims` too; the first membership the chain
	/// confirms, finalized before best, becomes the message's.
	pub(super) async fn check_with(
		&self,
		received: &mut Received,
		claims: &[BatchMembership],
		reads: &mut AnchorReads,
	) -> Result<(), ReadError> {
		if matches!(received.notarization, Notarization::Final(_)) {
			return Ok(());
		}
		let (chain, sender, leaf) = (&self.chain, &received.sender, &received.leaf);
		let mut confirmed = None;
		'reads: for at in [At::Finalized, At::Best] {
			for membership in candidates(received, claims) {
				if let Some(block) = reads.anchored_at(chain, sender, leaf, &membership, at).await?
				{
					confirmed = Some((at, block, membership));
					break 'reads;
				}
			}
		}
		let Some((at, block, membership)) = confirmed else { return Ok(()) };
		if at == At::Finalized {
			if let Some((opened, _)) = received.letter() {
				if !self.device_bound_at(sender, &opened.device, block).await? {
					let device = opened.device;
					return Err(ReadError::DeviceNotBound {
						sender: sender.clone(),
						device,
						block,
					});
				}
			}
			received.notarization = Notarization::Final(block);
		} else {
			received.notarization = Notarization::Anchored(block);
		}
		// Its sender paid for its anchor: now it is worth keeping.
		self.store.put(&received.envelope)?;
		self.record_letter(received)?;
		if received.membership.as_ref() != Some(&membership) {
			self.store.put_membership(&received.hash, &membership)?;
			received.membership = Some(membership);
		}
		Ok(())
	}
}
