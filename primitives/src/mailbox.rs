//! Mailbox access: the owner's signed requests to a host, and what the host answers — mail
//! entries with their notarization state, and the events of a subscription.
//!
//! Only the owner may read a mailbox or delete from it: a request is signed by the owner's account over
//! [`MailboxRequest::signing_payload`], names one host and one chain, and carries a nonce
//! the host accepts once.

use crate::hosting::{BatchMembership, Submission};
use alloc::vec::Vec;
use codec::{Decode, Encode};
use sp_core::H256;

/// Domain separation for mailbox request signatures.
pub const MAILBOX_CONTEXT: &[u8] = b"quarks/mailbox/v2";

/// Most entries in one page of a fetch.
pub const MAX_PAGE_ENTRIES: u32 = 256;

/// Most envelope bytes in one page of a fetch; a page ends early rather than exceed it.
pub const MAX_PAGE_BYTES: usize = 4 << 20;

/// Most accounts in the contact list one device of an owner gives a host.
pub const MAX_CONTACTS: u32 = 1024;

/// Most devices of one owner whose contact lists a host keeps: a list from one more
/// replaces the one given longest ago.
pub const MAX_DEVICE_LISTS: usize = 8;

/// What a mailbox request asks for.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum MailboxAction<AccountId> {
	/// The mail kept for the owner, oldest first, from position `after` on (exclusive),
	/// at most `limit` entries (capped at [`MAX_PAGE_ENTRIES`]).
	Fetch {
		/// The `next` of the previous page; `None` for the first.
		after: Option<u64>,
		/// Entries wanted.
		limit: u32,
	},
	/// Mail as it arrives, and what becomes of it ([`MailEvent`]).
	Subscribe,
	/// Stop keeping these envelopes for the owner, at most [`MAX_PAGE_ENTRIES`]: mail it
	/// does not want kept (unwanted senders' mail, to free its quota), without a receipt.
	Delete {
		/// The envelopes' hashes.
		envelopes: Vec<H256>,
	},
	/// The accounts whose mail the owner accepted on one of its devices (its contacts, the
	/// people of its accepted conversations), at most [`MAX_CONTACTS`]; replaces the list
	/// that device gave before. The host takes the union of the lists of the owner's last
	/// [`MAX_DEVICE_LISTS`] devices to give one, so a device that knows fewer people
	/// demotes no one another device accepted. Each accepted account keeps its own share of
	/// the owner's quota at this host; everyone else shares one share, so strangers,
	/// however many accounts they hold, cannot fill the mailbox.
	Contacts {
		/// The device whose list this is.
		device: crate::DeviceKey,
		/// The accounts.
		accounts: Vec<AccountId>,
	},
	/// Device `device` of the owner has these envelopes (at most [`MAX_PAGE_ENTRIES`]) for
	/// good. The host keeps an envelope for the owner until every device that counts for it
	/// said so — each device bound to the owner when the envelope was anchored and bound
	/// still — or its retention ends: a device that was away misses nothing another device
	/// read, and a removed device stops counting.
	Received {
		/// The owner's device, bound now.
		device: crate::DeviceKey,
		/// The envelopes' hashes.
		envelopes: Vec<H256>,
	},
	/// As [`MailboxAction::Fetch`], leaving out what `device` said it has
	/// ([`MailboxAction::Received`]): a device reading again does not download, page after
	/// page, what its hosts keep only for the owner's other devices.
	FetchFor {
		/// The owner's device.
		device: crate::DeviceKey,
		/// The `next` of the previous page; `None` for the first.
		after: Option<u64>,
		/// Entries wanted.
		limit: u32,
	},
}

/// What a mailbox request signs over, so it is good for one host, one chain and once.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct MailboxRequest<AccountId> {
	/// The mailbox owner, who signs.
	pub account: AccountId,
	/// The operator of the host asked.
	pub host: AccountId,
	/// Must exceed every nonce this host accepted from the account before (clients use
	/// the time in milliseconds).
	pub nonce: u64,
	/// What is asked.
	pub action: MailboxAction<AccountId>,
}

impl<AccountId: Encode> MailboxRequest<AccountId> {
	/// The bytes the account signs for chain `genesis`.
	pub fn signing_payload(&self, genesis: &H256) -> Vec<u8> {
		(MAILBOX_CONTEXT, genesis, self).encode()
	}
}

/// A mailbox request with the account's sr25519 signature over its
/// [`MailboxRequest::signing_payload`].
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct SignedMailboxRequest<AccountId> {
	/// The request.
	pub request: MailboxRequest<AccountId>,
	/// The signature.
	pub signature: [u8; 64],
}

/// How far an envelope's notarization got, as its host knows it.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum Notarization<BlockNumber> {
	/// Accepted before its anchor; dropped if none comes in time.
	Pending,
	/// Anchored in a block of the host's best chain.
	Anchored {
		/// The anchoring block.
		block: BlockNumber,
		/// Where the envelope sits in the anchor.
		membership: BatchMembership,
	},
	/// Anchored in a finalized block.
	Final {
		/// The anchoring block.
		block: BlockNumber,
		/// Where the envelope sits in the anchor.
		membership: BatchMembership,
	},
}

/// One envelope kept for the owner.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct MailEntry<BlockNumber> {
	/// Its place in the owner's mailbox on this host: increasing in arrival order.
	pub position: u64,
	/// The envelope hash, as the host computed it (clients recompute it).
	pub hash: H256,
	/// The encoded envelope.
	#[cfg_attr(feature = "std", serde(with = "sp_core::bytes"))]
	pub envelope: Vec<u8>,
	/// The sender's submission signature.
	#[cfg_attr(feature = "std", serde(with = "signature_hex"))]
	pub signature: [u8; 64],
	/// How far its notarization got.
	pub notarization: Notarization<BlockNumber>,
}

impl<BlockNumber> MailEntry<BlockNumber> {
	/// The sender's signed submission this entry carries.
	pub fn submission(&self) -> Submission {
		Submission { envelope: self.envelope.clone(), signature: self.signature }
	}
}

/// One page of a fetch.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct MailboxPage<BlockNumber> {
	/// The entries, oldest first.
	pub mail: Vec<MailEntry<BlockNumber>>,
	/// Where the next page starts, if there may be more.
	pub next: Option<u64>,
}

/// What a subscription reports.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum MailEvent<BlockNumber> {
	/// New mail, as it is stored.
	Mail(MailEntry<BlockNumber>),
	/// Its anchor appeared in the host's best chain.
	Anchored {
		/// The envelope hash.
		hash: H256,
		/// The anchoring block.
		block: BlockNumber,
		/// Where it sits in the anchor.
		membership: BatchMembership,
	},
	/// Its anchor is final.
	Final {
		/// The envelope hash.
		hash: H256,
		/// The anchoring block.
		block: BlockNumber,
	},
	/// No anchor came in time: the host dropped it, and it is not notarized.
	Dropped {
		/// The envelope hash.
		hash: H256,
	},
	/// The subscriber fell behind and missed events: fetch the mailbox to catch up.
	Missed,
}

/// A 64-byte signature as `0x`-hex in JSON.
#[cfg(feature = "std")]
mod signature_hex {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
		sp_core::bytes::serialize(bytes, s)
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
		let bytes = sp_core::Bytes::deserialize(d)?;
		bytes.0.try_into().map_err(|_| D::Error::custom("a signature is 64 bytes"))
	}
}
