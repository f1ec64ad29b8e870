//! Reading. Mail from the hosts is checked and shown at once — the sender's submission
//! signature; for a letter, MLS opening its message key from a member's device, the key
//! matching the envelope's commitment and the device's signature; for a welcome, that it
//! is the one the chain recorded for its epoch, from its committer, with the roster
//! recorded — marked with its notarization, which the client verifies on chain as it
//! advances: pending → anchored (block N of the best chain) → final; or not notarized, when
//! no anchor came in time. Hosts' claims only say where to look: a hash is always
//! recomputed, an anchor always read from the chain, and every host's claim of where a
//! message sits in its sender's anchor is tried until the chain confirms one, so a lying
//! host cannot hide what an honest one holds. Receipts go on chain per leaf, batched, once
//! the anchor is final.
//!
//! MLS opens a message once (its key is then deleted): its message key is kept in the
//! local store at once, so the same mail from another host, or read again after a
//! restart, opens from there; the envelope is kept once the chain confirms its anchor.
//! Mail never anchored cost its sender nothing, so none of it is written to disk for
//! good, nor kept in memory: once taken as not notarized it is forgotten, key and all.
//!
//! One module per step: `open` checks and opens one envelope; `notarization`
//! verifies on chain where it is anchored; `mailboxes` lists and deletes what the hosts
//! keep; `receipts` acknowledges final mail; `handed` tells hosts what this device has;
//! `follow` runs the reading loop; `old_letters`
//! brings what an older client kept into history.

mod follow;
mod handed;
mod mailboxes;
mod notarization;
mod old_letters;
mod open;
mod receipts;
mod retries;

use crate::{
	error::{ClientError, ReadError},
	seal::{Content, Opened},
	BlockNumber,
};
use quarks_primitives::{hosting::BatchMembership, merkle::AnchorLeaf, Epoch, GroupId};
use sp_core::{crypto::AccountId32, H256};
use std::{fmt, ops::Deref, sync::Arc, time::Duration};

pub use receipts::MAX_RECEIPTS;

/// A message still pending after this long is taken as not notarized: hosts drop pending
/// mail after ten blocks (30 seconds).
pub const NOT_NOTARIZED_AFTER: Duration = Duration::from_secs(45);

/// How far a message's notarization got, as this client verified it on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notarization {
	/// Delivered; its anchor is not on chain (yet).
	Pending,
	/// Its anchor is in block N of the best chain.
	Anchored(BlockNumber),
	/// Its anchor is in finalized block N.
	Final(BlockNumber),
	/// No anchor came in time: its sender never notarized it.
	NotNotarized,
}

impl Notarization {
	/// Whether it can no longer change by waiting.
	pub fn is_settled(&self) -> bool {
		matches!(self, Self::Final(_) | Self::NotNotarized)
	}
}

/// What a received envelope delivered.
#[derive(Clone, Debug)]
pub enum Delivered {
	/// A letter, opened and its signature checked.
	Letter {
		/// The opened letter.
		opened: Opened,
		/// What it says.
		content: Content,
	},
	/// A welcome into a group.
	Welcome {
		/// The group.
		group: GroupId,
		/// The epoch it opens.
		epoch: Epoch,
		/// Whether this device joined with it (or was in the group already).
		joined: bool,
	},
}

/// A received envelope that passed every check.
#[derive(Clone, Debug)]
pub struct Received {
	/// Its hash, recomputed.
	pub hash: H256,
	/// Its sender, who anchors it.
	pub sender: AccountId32,
	/// What it delivered.
	pub delivered: Delivered,
	/// Its leaf: what its sender's anchor commits to.
	pub leaf: AnchorLeaf<AccountId32>,
	/// Where it sits in its sender's anchor, once the chain confirmed it (or as a caller
	/// who knows it set it, to be checked).
	pub membership: Option<BatchMembership>,
	/// How far its notarization got.
	pub notarization: Notarization,
	/// The envelope as received, kept in the local store once its anchor is confirmed.
	pub envelope: EnvelopeBytes,
	/// The operator of the host its receipt names as the one it came from, so that a
	/// bounty on its anchor pays that host: set by a following reading when it sends the
	/// receipt (the host it was first fetched from), `None` otherwise.
	pub fetched_from: Option<AccountId32>,
}

/// An envelope's bytes, shared by every copy of its [`Received`] (not copied with it).
#[derive(Clone)]
pub struct EnvelopeBytes(Arc<[u8]>);

impl From<&[u8]> for EnvelopeBytes {
	fn from(bytes: &[u8]) -> Self {
		Self(bytes.into())
	}
}

impl Deref for EnvelopeBytes {
	type Target = [u8];
	fn deref(&self) -> &[u8] {
		&self.0
	}
}

impl fmt::Debug for EnvelopeBytes {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "{} bytes", self.0.len())
	}
}

impl Received {
	/// The letter it delivered, if it is one.
	pub fn letter(&self) -> Option<(&Opened, &Content)> {
		match &self.delivered {
			Delivered::Letter { opened, content } => Some((opened, content)),
			_ => None,
		}
	}
}

/// What happened to mail being read.
#[derive(Debug)]
pub enum Update {
	/// A message passed every check and is shown, with its notarization so far.
	Shown(Received),
	/// A shown message's notarization advanced.
	Notarized {
		/// The message.
		hash: H256,
		/// Its new state.
		notarization: Notarization,
	},
	/// An envelope failed a check and is not shown.
	Rejected {
		/// The envelope.
		hash: H256,
		/// Why.
		error: ReadError,
	},
	/// Receipts for this many messages are in a block.
	Acknowledged(usize),
	/// Receipts could not go out: the node did not answer (it may be restarting). They go
	/// again after a wait that doubles, up to half a minute.
	AcknowledgeFailed(ClientError),
	/// This device committed to a group as [`ReadOptions`] asked (an update, or the
	/// devices or members the chain has now).
	Committed {
		/// The group.
		group: GroupId,
		/// The epoch the commit opened.
		epoch: Epoch,
	},
	/// This account is no longer a member of a group (another member's commit removed it):
	/// this device let the group go and reads nothing sent there from now on.
	Left {
		/// The group.
		group: GroupId,
	},
	/// A commit [`ReadOptions`] asked for failed; it is tried again at the next interval.
	CommitFailed {
		/// The group.
		group: GroupId,
		/// Why.
		error: ClientError,
	},
}

/// How [`Messenger::read_mail`] behaves.
#[derive(Clone, Debug)]
pub struct ReadOptions {
	/// Keep following new mail, rather than reading what the hosts keep now.
	pub follow: bool,
	/// Stop once this many letters were shown and their notarization settled.
	pub count: Option<usize>,
	/// Stop after this long (once receipts already sent have their answer).
	pub timeout: Option<Duration>,
	/// Send delivery receipts for final messages.
	pub acknowledge: bool,
	/// While following, bring every group's devices in line with the chain this often
	/// (a member left, a device was added or removed).
	pub sync_every: Option<Duration>,
	/// While following, update this device's leaf in every group this often (future
	/// secrecy).
	pub update_every: Option<Duration>,
}
