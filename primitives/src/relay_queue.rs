//! The relay queue: what a node keeps in its persistent offchain storage so the messaging
//! pallet's offchain worker carries every envelope the node accepted to every host of
//! every recipient, until each host confirmed or refused for good.
//!
//! Every key has a single writer, so neither side can overwrite the other's progress:
//!
//! | key (under `quarks/relay/`) | writer | value |
//! |---|---|---|
//! | `item/<hash>` | node, once | [`RelayItem`]: the submission and when it was accepted |
//! | `membership/<hash>` | node | the [`crate::hosting::SignedMembership`] of a batch-anchored envelope, as its sender signed it |
//! | `pushed/<hash>` | node | hosts that took the node's direct push (provisionally) |
//! | `inbox/<n>` | node | segment `n` of the log of accepted envelopes ([`INBOX_SEGMENT`] [`QueueEntry`]s each) |
//! | `inbox/tail` | node | the segment being appended |
//! | `inbox/head` | worker | how far the worker read the log ([`InboxHead`]) |
//! | `deliveries/<hash>` | worker | per host: attempts, confirmation or refusal |
//! | `due/<block>` | worker | [`QueueEntry`]s to look at again at that block |
//! | `due/cursor` | worker | the first block whose list the worker has not read |
//! | `stats` | worker | [`RelayStats`], which the node exports as metrics |
//! | `endpoint/<blake2-256 of endpoint>` | node | [`EndpointCheck`]: whether it may connect there |
//! | `lock` | worker | one worker at a time |
//!
//! When an envelope is done the worker clears its keys, the node's included: the node
//! writes them only while accepting and pushing, long before.

use crate::hosting::Submission;
use alloc::vec::Vec;
use codec::{Decode, Encode};
use sp_core::H256;

/// Entries per inbox segment: appending rewrites one segment, never the whole queue.
pub const INBOX_SEGMENT: u32 = 256;

/// Blocks the worker waits for an envelope's anchor before dropping it unnotarized
/// (one hour of 3-second blocks): a sender anchors within a block or two, or after a
/// reconnect.
pub const ANCHOR_WAIT: u32 = 1200;

/// How long an [`EndpointCheck`] holds: nodes check every host's endpoint every 30 s, and
/// nothing connects to an endpoint whose last check is older.
pub const ENDPOINT_CHECK_MS: u64 = 120_000;

/// A node's check of a host's endpoint: whether every address its name resolves to may be
/// connected to (public, or the network allows private endpoints), and when it looked.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub struct EndpointCheck {
	/// Whether the node may connect there.
	pub allowed: bool,
	/// When the node looked, in milliseconds since the Unix epoch.
	pub checked_at: u64,
}

impl EndpointCheck {
	/// Whether the endpoint may be connected to at `now` (ms since the Unix epoch); `None`
	/// if the check is too old to tell, or dated after `now` (a clock set back).
	pub fn allows(&self, now: u64) -> Option<bool> {
		let age = now.checked_sub(self.checked_at)?;
		(age <= ENDPOINT_CHECK_MS).then_some(self.allowed)
	}
}

/// Keys of the relay queue in the node's persistent offchain storage.
pub mod keys {
	use super::*;

	/// The lock that keeps one worker relaying at a time.
	pub const LOCK: &[u8] = b"quarks/relay/lock";
	/// The segment being appended: `u64`.
	pub const INBOX_TAIL: &[u8] = b"quarks/relay/inbox/tail";
	/// How far the worker read the inbox: [`InboxHead`].
	pub const INBOX_HEAD: &[u8] = b"quarks/relay/inbox/head";
	/// The first block whose due list the worker has not read: `u32`.
	pub const DUE_CURSOR: &[u8] = b"quarks/relay/due/cursor";
	/// The worker's counters: [`RelayStats`].
	pub const STATS: &[u8] = b"quarks/relay/stats";

	fn keyed(prefix: &[u8], key: &[u8]) -> Vec<u8> {
		[prefix, key].concat()
	}

	/// The [`RelayItem`] of `envelope`.
	pub fn item(envelope: &H256) -> Vec<u8> {
		keyed(b"quarks/relay/item/", envelope.as_bytes())
	}

	/// The batch membership of `envelope`.
	pub fn membership(envelope: &H256) -> Vec<u8> {
		keyed(b"quarks/relay/membership/", envelope.as_bytes())
	}

	/// The hosts that took the direct push of `envelope`: `Vec<AccountId>`.
	pub fn pushed(envelope: &H256) -> Vec<u8> {
		keyed(b"quarks/relay/pushed/", envelope.as_bytes())
	}

	/// The worker's delivery state of `envelope`: `Vec<Delivery>`.
	pub fn deliveries(envelope: &H256) -> Vec<u8> {
		keyed(b"quarks/relay/deliveries/", envelope.as_bytes())
	}

	/// The node's [`EndpointCheck`] of a host's `endpoint`.
	pub fn endpoint(endpoint: &[u8]) -> Vec<u8> {
		keyed(b"quarks/relay/endpoint/", crate::envelope::hash_of(endpoint).as_bytes())
	}

	/// Inbox segment `n`: `Vec<QueueEntry>`.
	pub fn inbox_segment(n: u64) -> Vec<u8> {
		keyed(b"quarks/relay/inbox/", &n.to_le_bytes())
	}

	/// The entries due at block `block`: `Vec<QueueEntry>`.
	pub fn due(block: u32) -> Vec<u8> {
		keyed(b"quarks/relay/due/", &block.to_le_bytes())
	}
}

/// An envelope in the queue: its hash and the block at which the node accepted it, so the
/// queue's length and oldest entry can be read without loading envelopes.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueueEntry {
	/// The envelope hash.
	pub envelope: H256,
	/// The node's best block when it accepted it.
	pub accepted_at: u32,
}

/// The worker's counters since the node's offchain storage was created.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct RelayStats<AccountId> {
	/// Per host: envelopes it confirmed keeping as anchored.
	pub confirmed: Vec<(AccountId, u64)>,
	/// Per host: envelopes it refused for good or never confirmed.
	pub failed: Vec<(AccountId, u64)>,
	/// Envelopes dropped without an anchor, expired, or malformed.
	pub dropped: u64,
}

impl<AccountId> Default for RelayStats<AccountId> {
	fn default() -> Self {
		RelayStats { confirmed: Vec::new(), failed: Vec::new(), dropped: 0 }
	}
}

impl<AccountId: PartialEq + Clone> RelayStats<AccountId> {
	/// Counts one more envelope for `host` in `counts`.
	pub fn count(counts: &mut Vec<(AccountId, u64)>, host: &AccountId) {
		match counts.iter_mut().find(|(h, _)| h == host) {
			Some((_, n)) => *n = n.saturating_add(1),
			None => counts.push((host.clone(), 1)),
		}
	}
}

/// An envelope a node accepted for relay.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct RelayItem<BlockNumber> {
	/// The sender's signed envelope.
	pub submission: Submission,
	/// The node's best block when it accepted it.
	pub accepted_at: BlockNumber,
}

/// How far the worker read the inbox: the next unread hash is entry `offset` of segment
/// `segment`.
#[derive(Encode, Decode, Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct InboxHead {
	/// The segment.
	pub segment: u64,
	/// Entries of it already read.
	pub offset: u32,
}

/// Where delivery to one host stands.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeliveryState<BlockNumber> {
	/// Not confirmed yet: `attempts` failed so far, the next at `next_attempt`.
	Pending {
		/// Failed attempts.
		attempts: u32,
		/// The first block of the next attempt.
		next_attempt: BlockNumber,
	},
	/// The host keeps it as anchored since this block.
	Confirmed(BlockNumber),
	/// The host refused for good (error code), or stopped answering after the last
	/// attempt (code 0).
	Failed(u16),
}

/// The worker's progress towards one host.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct Delivery<AccountId, BlockNumber> {
	/// The host's operator.
	pub host: AccountId,
	/// Where it stands.
	pub state: DeliveryState<BlockNumber>,
	/// The host said it lacks the envelope though it took the direct push (it dropped the
	/// pending copy): send it whole from now on.
	pub lost: bool,
}
