//! Errors of the Quarks RPC methods and host items, each with its own code (docs/rpc.md).

use super::host_store::StoreError;
use jsonrpsee::types::ErrorObjectOwned;
use quarks_primitives::envelope::EnvelopeError;

/// Why a Quarks call or item was refused. Nothing is changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum QuarksError {
	/// The bytes are not a well-formed envelope.
	#[error("malformed envelope: {}", .0.describe())]
	Malformed(EnvelopeError),
	/// A submission, item batch, membership or mailbox request does not decode or exceeds
	/// its bounds.
	#[error("malformed {0}")]
	MalformedRequest(&'static str),
	/// This node was not started as a host.
	#[error("this node hosts no mail (start it with --host)")]
	NotAHost,
	/// This node's operator is not an admitted host on chain.
	#[error("this host is not admitted on chain")]
	HostNotAdmitted,
	/// The membership does not show the envelope in its sender's anchor.
	#[error("envelope is not in the anchor its membership names")]
	AnchorMismatch,
	/// The envelope's anchor is past the host's retention.
	#[error("envelope is past this host's retention")]
	Expired,
	/// No recipient of the envelope chose this host.
	#[error("no recipient of this envelope chose this host")]
	NotChosen,
	/// No recipient of the envelope chose any host: it could never be delivered.
	#[error("no recipient of this envelope chose a mail host, so it could never be delivered")]
	NoHostChosen,
	/// The sender has no device bound on chain.
	#[error("the sender has no device bound on chain")]
	SenderHasNoDevice,
	/// Group mail from an account that was not a member of the group at its epoch.
	#[error("the sender was not a member of the group at the envelope's epoch")]
	NotAGroupMember,
	/// The mailbox request is for another host.
	#[error("request is for another host")]
	WrongHost,
	/// A signature does not verify for its account.
	#[error("bad signature: not signed by the account it names")]
	BadSignature,
	/// The sender submits faster than this node or host accepts.
	#[error("too many submissions from this sender; try again shortly")]
	RateLimited,
	/// The mailbox has as many open subscriptions as a host allows.
	#[error("too many open subscriptions to this mailbox; close one first")]
	TooManySubscriptions,
	/// A mailbox request from an account that did not choose this host and has no mail here.
	#[error("this host keeps no mailbox for this account")]
	NotAUser,
	/// A device the mailbox owner does not have bound now.
	#[error("not a device bound to this account")]
	DeviceNotBound,
	/// A store refusal or failure.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// Reading the chain failed.
	#[error("chain state unavailable: {0}")]
	Chain(String),
}

impl QuarksError {
	/// The error code; docs/rpc.md lists them.
	pub fn code(&self) -> u16 {
		match self {
			Self::Malformed(_) => 9000,
			Self::MalformedRequest(_) => 9001,
			Self::NotAHost => 9010,
			Self::HostNotAdmitted => 9011,
			Self::AnchorMismatch => 9021,
			Self::Expired => 9022,
			Self::NotChosen => 9023,
			Self::NoHostChosen => 9024,
			Self::SenderHasNoDevice => 9025,
			Self::NotAGroupMember => 9026,
			Self::Store(StoreError::OverQuota) => 9030,
			Self::Store(StoreError::OverCapacity) => 9031,
			Self::Store(StoreError::SenderOverQuota) => 9032,
			Self::Store(StoreError::OverShare) => 9033,
			Self::Store(StoreError::SenderOverCapacity) => 9034,
			Self::Store(StoreError::StrangersFull) => 9035,
			Self::WrongHost => 9040,
			Self::BadSignature => 9041,
			Self::Store(StoreError::Replayed { .. }) => 9042,
			Self::NotAUser => 9043,
			Self::DeviceNotBound => 9044,
			Self::RateLimited => 9060,
			Self::TooManySubscriptions => 9061,
			Self::Store(StoreError::Database(_)) => 9090,
			Self::Chain(_) => 9091,
		}
	}

	/// Whether the same request may succeed later: quotas, rates and failures pass; a
	/// malformed, forged or misdirected request never will.
	pub fn may_succeed_later(&self) -> bool {
		matches!(
			self,
			Self::HostNotAdmitted
				| Self::Store(StoreError::OverQuota)
				| Self::Store(StoreError::OverCapacity)
				| Self::Store(StoreError::SenderOverQuota)
				| Self::Store(StoreError::OverShare)
				| Self::Store(StoreError::SenderOverCapacity)
				| Self::Store(StoreError::StrangersFull)
				| Self::RateLimited
				| Self::TooManySubscriptions
				| Self::Store(StoreError::Database(_))
				| Self::Chain(_)
		)
	}
}

/// A failed runtime call or chain read, as the error callers see.
pub fn chain_error(error: impl std::fmt::Display) -> QuarksError {
	QuarksError::Chain(error.to_string())
}

impl From<QuarksError> for ErrorObjectOwned {
	fn from(error: QuarksError) -> Self {
		ErrorObjectOwned::owned(i32::from(error.code()), error.to_string(), None::<()>)
	}
}
