//! The client's errors, one type per layer: [`ReadError`] for a received envelope that
//! cannot be shown, [`ClientError`] for an operation, nesting the layers below.

use crate::{
	chain::ChainError, database::DatabaseError, keystore::KeystoreError, mls::MlsError,
	seal::SealError, BlockNumber,
};
use quarks_primitives::{DeviceKey, Epoch, GroupId};
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
	/// This device's MLS state.
	#[error(transparent)]
	Mls(#[from] MlsError),
	/// Reading a received envelope.
	#[error(transparent)]
	Read(#[from] ReadError),
	/// The local mail store.
	#[error("mail store: {0}")]
	Store(#[from] std::io::Error),
	/// The local message database.
	#[error(transparent)]
	Database(#[from] DatabaseError),
	/// A member has no device with an unexpired key package, so no conversation can
	/// include them.
	#[error(
		"{0} has no device with a key package on chain; they must run `quarks device register`"
	)]
	NoDevice(AccountId32),
	/// Neither a contact's name nor an account.
	#[error("{0:?} is not a contact's name nor an account (SS58 or 0x hex); `quarks contact list` shows your contacts")]
	Unknown(String),
	/// An account cannot block itself (its own devices' mail would be refused).
	#[error("you cannot block your own account")]
	BlockingSelf,
	/// A device tried to remove itself: it would commit from an unbound key.
	#[error("this is the device you are using: remove it from another of your devices")]
	RetiringSelf,
	/// A device that is not among the account's on chain.
	#[error("device {} is not one of your devices: `quarks device list` shows them", array_bytes::bytes2hex("0x", .0))]
	NotOwnDevice(DeviceKey),
	/// A choice of mail hosts that the chain would refuse, checked before paying for it.
	#[error("{0}")]
	HostChoice(String),
	/// Only a named contact can be marked verified.
	#[error("{0} is not a contact yet: name them first (`quarks contact add <name> <account>`)")]
	Unnamed(AccountId32),
	/// An invitation was refused.
	#[error(transparent)]
	Invitation(#[from] crate::invitation::InvitationError),
	/// This device is not bound to its account on chain.
	#[error("this device is not registered on chain; run `quarks device register`")]
	DeviceNotRegistered,
	/// The group does not exist.
	#[error("group {0} does not exist")]
	NoGroup(GroupId),
	/// This device is not in the group (not a member, or not yet welcomed).
	#[error("this device is not in group {0}: not a member, or its welcome has not arrived")]
	NotInGroup(GroupId),
	/// The chain ordered commits this device could not apply in time.
	#[error("group {group} is at epoch {chain} on chain but this device could only reach {device}: its commits have not arrived")]
	Behind {
		/// The group.
		group: GroupId,
		/// The chain's epoch.
		chain: Epoch,
		/// This device's.
		device: Epoch,
	},
	/// This device cannot follow the group's commits by waiting (and no restart got it
	/// out).
	#[error("group {group}: {stuck}")]
	Stuck {
		/// The group.
		group: GroupId,
		/// Why.
		stuck: crate::conversations::Stuck,
	},
	/// The chain refused this device's commit every time, other commits winning.
	#[error("group {0}: other members' commits kept winning; try again")]
	CommitContended(GroupId),
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
	/// MLS refused it: not from a member, altered, or from an epoch whose secrets are gone.
	#[error(transparent)]
	Mls(#[from] MlsError),
	/// The submission signature is not the sender's.
	#[error("not signed by its sender: the submission signature does not verify")]
	BadSubmission,
	/// For a group this device is not in (yet: its welcome may still come).
	#[error("this device is not in group {0}")]
	NotInGroup(GroupId),
	/// From an epoch this device has not reached (yet: its commit may still come).
	#[error("group {group} epoch {epoch} is ahead of this device")]
	EpochAhead {
		/// The group.
		group: GroupId,
		/// The envelope's epoch.
		epoch: Epoch,
	},
	/// From an epoch before this device joined the group: MLS gave it no key for it.
	#[error("group {group} epoch {epoch} was before this device joined")]
	BeforeJoined {
		/// The group.
		group: GroupId,
		/// The envelope's epoch.
		epoch: Epoch,
	},
	/// A commit or welcome for an epoch the finalized chain has not ordered (yet).
	#[error("group {group} epoch {epoch} has no commit on the finalized chain")]
	CommitNotOrdered {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
	},
	/// The MLS sender is not the envelope's sender, or not the device that signed the
	/// letter.
	#[error("the MLS sender is not the envelope's sender and signing device")]
	SenderMismatch,
	/// The device that signed the letter was not bound to the sender at the anchoring
	/// block.
	#[error("device {device:?} was not bound to {sender} at the anchoring block {block}")]
	DeviceNotBound {
		/// The sender.
		sender: AccountId32,
		/// The signing device.
		device: DeviceKey,
		/// The anchoring block.
		block: BlockNumber,
	},
	/// Addressed to another account.
	#[error("the envelope is addressed to another account")]
	WrongRecipient,
	/// A welcome into an epoch before this account's current membership began (from
	/// before it was removed, or left).
	#[error("a welcome into group {group} epoch {epoch}, before this account's membership")]
	StaleWelcome {
		/// The group.
		group: GroupId,
		/// The welcome's epoch.
		epoch: Epoch,
	},
	/// A welcome sent by someone other than the member whose commit opened its epoch.
	#[error("a welcome into group {group} epoch {epoch} from someone other than its committer")]
	WelcomeNotFromCommitter {
		/// The group.
		group: GroupId,
		/// The welcome's epoch.
		epoch: Epoch,
	},
	/// A welcome for another device of this account.
	#[error("a welcome for another device of this account")]
	ForAnotherDevice,
	/// From an account this one blocked.
	#[error("from {0}, whom you blocked")]
	Blocked(AccountId32),
	/// The letter's content is not a Quarks message.
	#[error("content is not a Quarks message")]
	UnknownContent,
	/// The chain could not be asked.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The message or this device's state could not be kept.
	#[error("keeping the message failed: {0}")]
	Keep(String),
}

impl ReadError {
	/// Whether no later state of this device could open it: the envelope itself, or the
	/// chain's final word, settles it, so its hosts need not keep it for this device. Not
	/// MLS refusals or failures to keep it, which may be this device's own.
	pub fn is_for_good(&self) -> bool {
		matches!(
			self,
			Self::Seal(_)
				| Self::BadSubmission
				| Self::BeforeJoined { .. }
				| Self::SenderMismatch
				| Self::DeviceNotBound { .. }
				| Self::WrongRecipient
				| Self::StaleWelcome { .. }
				| Self::WelcomeNotFromCommitter { .. }
				| Self::ForAnotherDevice
				| Self::Blocked(_)
				| Self::UnknownContent
		)
	}

	/// Whether reading again later may succeed: the welcome or commit this device needs
	/// may still arrive, the chain may order or finalize a commit, the chain may answer.
	pub fn may_resolve(&self) -> bool {
		matches!(
			self,
			Self::NotInGroup(_)
				| Self::EpochAhead { .. }
				| Self::CommitNotOrdered { .. }
				| Self::Chain(_)
		)
	}
}

impl From<DatabaseError> for ReadError {
	fn from(e: DatabaseError) -> Self {
		Self::Keep(e.to_string())
	}
}

impl From<std::io::Error> for ReadError {
	fn from(e: std::io::Error) -> Self {
		Self::Keep(e.to_string())
	}
}
