//! Errors of the Quarks RPC methods, each with its own JSON-RPC error code.

use super::store::StoreError;
use jsonrpsee::types::ErrorObjectOwned;
use quarks_primitives::envelope::EnvelopeError;

/// Why a Quarks RPC call was refused. Nothing is changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum QuarksError {
	/// The bytes are not a well-formed envelope.
	#[error("malformed envelope: {}", .0.describe())]
	Malformed(EnvelopeError),
	/// A batch membership or mailbox request does not decode.
	#[error("malformed {0}")]
	MalformedRequest(&'static str),
	/// This node was not started as a host.
	#[error("this node hosts no mail (start it with --host)")]
	NotAHost,
	/// This node's operator is not an admitted host on chain.
	#[error("this host is not admitted on chain")]
	HostNotAdmitted,
	/// No anchor holds this envelope.
	#[error("envelope is not anchored on chain")]
	NotAnchored,
	/// The anchor names another sender, destination or size class.
	#[error("envelope does not match its anchor")]
	AnchorMismatch,
	/// The envelope is past the host's retention.
	#[error("envelope is past this host's retention")]
	Expired,
	/// No recipient of the envelope chose this host.
	#[error("no recipient of this envelope chose this host")]
	NotChosen,
	/// The mailbox request is for another host.
	#[error("request is for another host")]
	WrongHost,
	/// The mailbox request's signature does not verify for its account.
	#[error("bad signature: the request is not signed by the mailbox owner")]
	BadSignature,
	/// The relay queue is full.
	#[error("relay queue is full; try again later")]
	RelayQueueFull,
	/// A store refusal or failure.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// Reading the chain failed.
	#[error("chain state unavailable: {0}")]
	Chain(String),
}

impl QuarksError {
	/// The JSON-RPC error code; docs/rpc.md lists them.
	pub fn code(&self) -> i32 {
		match self {
			Self::Malformed(_) => 9000,
			Self::MalformedRequest(_) => 9001,
			Self::NotAHost => 9010,
			Self::HostNotAdmitted => 9011,
			Self::NotAnchored => 9020,
			Self::AnchorMismatch => 9021,
			Self::Expired => 9022,
			Self::NotChosen => 9023,
			Self::Store(StoreError::OverQuota(_)) => 9030,
			Self::Store(StoreError::OverCapacity) => 9031,
			Self::WrongHost => 9040,
			Self::BadSignature => 9041,
			Self::Store(StoreError::Replayed { .. }) => 9042,
			Self::RelayQueueFull => 9050,
			Self::Store(StoreError::Database(_)) => 9090,
			Self::Chain(_) => 9091,
		}
	}
}

impl From<QuarksError> for ErrorObjectOwned {
	fn from(error: QuarksError) -> Self {
		ErrorObjectOwned::owned(error.code(), error.to_string(), None::<()>)
	}
}
