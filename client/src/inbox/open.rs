//! Opening one envelope: its hash recomputed, its sender's signature, then MLS.

use super::{
	notarization::{claimed, AnchorReads},
	Delivered, Notarization, Received,
};
use crate::{
	error::ReadError,
	hosts::MailboxEntry,
	messenger::Messenger,
	mls::MlsError,
	queries,
	seal::{self, Body, Content, MessageKey},
};
use codec::Decode;
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	hosting::submission_payload,
	Destination, Epoch, GroupId,
};
use sp_core::{crypto::AccountId32, sr25519, Pair as _, H256};

impl Messenger {
	/// Checks and opens one mailbox entry. The hash is recomputed from the envelope (a
	/// host cannot pass one envelope off as another, nor hide one behind a false hash);
	/// the submission must be signed by the envelope's sender. Its notarization starts from
	/// the host's claim, verified on chain.
	pub async fn open_mail(&self, entry: &MailboxEntry) -> Result<Received, ReadError> {
		let hash = hash_of(&entry.envelope);
		let (envelope, body) = seal::parse(&entry.envelope)?;
		if !self.signed_by_sender(entry, &envelope.sender, &hash) {
			return Err(ReadError::BadSubmission);
		}
		if self.database.is_blocked(&envelope.sender)? {
			return Err(ReadError::Blocked(envelope.sender));
		}
		let mut received = self.open_checked(&entry.envelope, envelope, body, hash).await?;
		// A pending claim needs no read: nothing on chain to check yet.
		if let Some(membership) = claimed(&entry.notarization) {
			self.check_with(&mut received, &[membership], &mut AnchorReads::default()).await?;
		}
		Ok(received)
	}

	/// Whether `entry` carries `sender`'s submission signature of envelope `hash`.
	pub(super) fn signed_by_sender(
		&self,
		entry: &MailboxEntry,
		sender: &AccountId32,
		hash: &H256,
	) -> bool {
		let public = sr25519::Public::from_raw(sender.clone().into());
		let signature = sr25519::Signature::from_raw(entry.signature);
		sr25519::Pair::verify(&signature, submission_payload(&self.chain.genesis(), hash), &public)
	}

	/// Checks and opens envelope bytes held locally (a file, the local store): every check
	/// but the submission's, which travels with mail only; its anchor as the local store
	/// knows it, or as an envelope anchored alone.
	pub async fn open_envelope(&self, bytes: &[u8]) -> Result<Received, ReadError> {
		let hash = hash_of(bytes);
		let (envelope, body) = seal::parse(bytes)?;
		let mut received = self.open_checked(bytes, envelope, body, hash).await?;
		received.membership = self.store.membership(&hash)?;
		self.check_notarization(&mut received).await?;
		Ok(received)
	}

	/// Opens `envelope` (hash `hash`, encoded as `bytes`) with this device: a letter by
	/// its kept message key or through MLS (first applying the commits the chain ordered
	/// since this device's epoch, if the letter is ahead of it), a welcome as the chain
	/// ordered it.
	pub(super) async fn open_checked(
		&self,
		bytes: &[u8],
		envelope: Envelope<AccountId32>,
		body: Body,
		hash: H256,
	) -> Result<Received, ReadError> {
		let delivered = match (&body, &envelope.destination) {
			(Body::Letter { mls, .. }, Destination::Group { group, epoch }) => {
				let key = match self.store.message_key(&hash)? {
					Some(key) => (key, None),
					None => match self.letter_key(&envelope, *group, *epoch, mls) {
						Err(ReadError::EpochAhead { .. }) if self.catch_up_due(*group) => {
							// A group that is stuck is restarted by whoever sends next.
							let _ = self.advance_group(*group).await;
							self.letter_key(&envelope, *group, *epoch, mls)?
						}
						key => key?,
					},
				};
				let opened = seal::open_letter(&envelope, &body, &key.0)?;
				if key.1.is_some_and(|device| device != opened.device) {
					return Err(ReadError::SenderMismatch);
				}
				// MLS deleted it: kept so the letter opens again, until the letter is
				// forgotten for want of an anchor.
				if key.1.is_some() {
					self.store.put_message_key(&hash, &key.0)?;
				}
				let content = Content::decode(&mut &opened.letter.content[..])
					.map_err(|_| ReadError::UnknownContent)?;
				Delivered::Letter { opened, content }
			}
			(Body::Welcome { group, epoch, mls }, Destination::Direct(to)) => {
				if to != self.account() {
					return Err(ReadError::WrongRecipient);
				}
				let joined = self.join_mail(*group, *epoch, mls, &envelope.sender).await?;
				Delivered::Welcome { group: *group, epoch: *epoch, joined }
			}
			// `seal::parse` refuses every other pairing.
			_ => return Err(seal::SealError::WrongDestination("body").into()),
		};
		Ok(Received {
			hash,
			leaf: envelope.leaf(hash),
			sender: envelope.sender,
			delivered,
			membership: None,
			notarization: Notarization::Pending,
			envelope: bytes.into(),
			fetched_from: None,
		})
	}

	/// The message key an MLS application message carries, from a member device of
	/// `envelope`'s sender, with that device; the key is deleted from MLS once used.
	fn letter_key(
		&self,
		envelope: &Envelope<AccountId32>,
		group: GroupId,
		epoch: Epoch,
		mls: &[u8],
	) -> Result<(MessageKey, Option<[u8; 32]>), ReadError> {
		self.with_device(|device| {
			if !device.is_in(group) {
				return Err(ReadError::NotInGroup(group));
			}
			if epoch > device.epoch(group)? {
				return Err(ReadError::EpochAhead { group, epoch });
			}
			if device.joined(group).is_some_and(|joined| epoch < joined) {
				return Err(ReadError::BeforeJoined { group, epoch });
			}
			let opened = device.decrypt(group, mls)?;
			if opened.sender.account != envelope.sender || opened.epoch != epoch {
				return Err(ReadError::SenderMismatch);
			}
			let key = MessageKey::try_from(opened.plaintext.as_slice())
				.map_err(|_| seal::SealError::KeyCommitment)?;
			Ok((key, Some(opened.sender.signature_key)))
		})
	}

	/// Joins `group` at `epoch` from a welcome, if this account is a member since then and
	/// the welcome is the one the finalized chain recorded for the epoch, sent by the
	/// member whose commit opened it, into the roster recorded (a welcome from before a
	/// removal is stale; one another member made up is refused, and cannot move this device
	/// out of the epoch it is in); the 1:1 conversation with `sender` if the group has only
	/// the two of them. Returns whether it joined now.
	async fn join_mail(
		&self,
		group: GroupId,
		epoch: Epoch,
		mls: &[u8],
		sender: &AccountId32,
	) -> Result<bool, ReadError> {
		let at = self.device(|d| d.is_in(group).then(|| d.epoch(group)).transpose())?;
		if at.is_some_and(|at| at >= epoch) {
			return Ok(false);
		}
		// The commit first: a welcome may arrive before the block that added this account is
		// final, and that is worth waiting for, not a stale welcome.
		let record = queries::commit_at(&self.chain, group, epoch)
			.await?
			.ok_or(ReadError::CommitNotOrdered { group, epoch })?;
		let member = queries::member(&self.chain, group, self.account()).await?;
		if member.is_none_or(|m| m.joined > epoch) {
			return Err(ReadError::StaleWelcome { group, epoch });
		}
		if &record.committer != sender {
			return Err(ReadError::WelcomeNotFromCommitter { group, epoch });
		}
		match self.with_device(|d| d.join(mls, group, epoch, (&record).into())) {
			Ok(()) => {}
			// The welcome of a device added beside this one, which follows the commit.
			Err(MlsError::AlreadyIn { .. }) => return Ok(false),
			Err(MlsError::NotForThisDevice) => return Err(ReadError::ForAnotherDevice),
			Err(e) => return Err(e.into()),
		}
		let members = queries::members_at(&self.chain, group, epoch).await?;
		// A 1:1 conversation with `sender`, unless there is one already.
		let direct = members.len() == 2
			&& members.contains(sender)
			&& self.database.direct(sender)?.is_none();
		let known = self.database.knows(group)?;
		self.database.add_conversation(group, direct.then_some(sender), crate::send::now_ms())?;
		// A new conversation started by someone who is not a contact (nor this account, from
		// another device): a request until this account accepts it. A welcome into a known
		// conversation (a restart, another device's) changes nothing.
		if !known && sender != self.account() && self.database.contact_of(sender)?.is_none() {
			self.database.add_request(group, sender)?;
		}
		Ok(true)
	}
}
