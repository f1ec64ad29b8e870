//! The client's errors, one type per layer: [`ReadError`] for a received envelope that
//! cannot be shown, [`ClientError`] for an operation, nesting the layers below.

use crate::{chain::ChainError, keystore::KeystoreError, seal::SealError, BlockNumber};
use quarks_primitives::{Epoch, GroupId};
use sp_core::{crypto::AccountId32, H256};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
	/// The keystore.
	#[error(transparent)]
	Keystore(#[from] KeystoreError),
	/// The chain or a node.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// Sealing.
	#[error(transparent)]
	Seal(#[from] SealError),
	/// Reading a received envelope.
	#[error(transparent)]
	Read(#[from] ReadError),
	/// The local mail store.
	#[error("mail store: {0}")]
	Store(#[from] std::io::Error),
	/// The recipient (or a group member) has no valid encryption key on chain.
	#[error("{0} has no valid encryption key on chain; they must register one first")]
	NoKey(AccountId32),
	/// The group does not exist.
	#[error("group {0} does not exist")]
	NoGroup(GroupId),
	/// The group's open epoch has no key yet.
	#[error("group {group} is waiting for an admin to rotate the key of epoch {epoch}")]
	GroupNotRotated {
		/// The group.
		group: GroupId,
		/// Its open epoch.
		epoch: Epoch,
	},
	/// This identity does not hold the key of the group epoch.
	#[error("no key for group {group} epoch {epoch}: not a member, or the key has not arrived")]
	NoGroupKey {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
	},
	/// The envelope is not in the local store.
	#[error("envelope {0:?} is not in the local store")]
	NotInStore(H256),
	/// A proof was asked of a message whose anchor is not final.
	#[error("envelope {0:?} is not anchored in a finalized block: proofs need a final anchor")]
	NotFinal(H256),
}

/// Why a received envelope is not shown.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
	/// It does not open or verify.
	#[error(transparent)]
	Seal(#[from] SealError),
	/// The submission signature is not the sender's.
	#[error("not signed by its sender: the submission signature does not verify")]
	BadSubmission,
	/// The sender holds no valid encryption key.
	#[error("sender {0} holds no valid encryption key")]
	SenderHasNoKey(AccountId32),
	/// The sender had no valid encryption key when the anchor was recorded.
	#[error("sender {sender} had no valid key at the anchoring block {block}")]
	SenderKeyNotValid {
		/// The sender.
		sender: AccountId32,
		/// The anchoring block.
		block: BlockNumber,
	},
	/// The group epoch's key is not held.
	#[error("no key for group {group} epoch {epoch}: not a member of that epoch, or its key has not arrived")]
	NoGroupKey {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
	},
	/// A group key whose envelope the chain's (finalized) rotation record does not commit
	/// to for this member.
	#[error("group key for group {group} epoch {epoch} is not committed on chain for this member")]
	UncommittedGroupKey {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
	},
	/// The letter's content is not a Quarks message.
	#[error("content is not a Quarks message")]
	UnknownContent,
	/// The chain could not be asked.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// A key or the envelope could not be kept.
	#[error("keeping the message failed: {0}")]
	Keep(String),
}

impl ReadError {
	/// Whether reading again later may succeed: the group key may still arrive, the
	/// rotation that commits to it may become final, the chain may answer.
	pub fn may_resolve(&self) -> bool {
		matches!(self, Self::NoGroupKey { .. } | Self::UncommittedGroupKey { .. } | Self::Chain(_))
	}
}
