//! What nodes, relays and hosts exchange to deliver envelopes, and the runtime API they
//! ask: the sender's signed submission, the items a node or relay hands a host with the
//! host's answers, and host records.
//!
//! Delivery does not wait for the chain: a node pushes a submission to every host of
//! every recipient at once, and a host keeps it *provisionally* — signed by its sender,
//! who holds a valid key, within per-sender limits — until its anchor appears. Hosts learn
//! where an envelope is anchored from its batch membership (or compute it, for an envelope
//! anchored alone). docs/rpc.md specifies the encodings byte for byte.

use crate::{merkle::InclusionProof, AnchorRecord, Destination, DeviceRecord};
use alloc::vec::Vec;
use codec::{Codec, Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;
use sp_core::H256;

/// A host record as relays and hosts read it.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
pub struct HostInfo<BlockNumber> {
	/// The host's JSON-RPC endpoint.
	pub endpoint: Vec<u8>,
	/// Blocks the host keeps an undelivered envelope.
	pub retention: BlockNumber,
	/// Bytes the host stores in all.
	pub capacity: u64,
	/// Bytes the host stores for one user.
	pub user_quota: u64,
}

/// Read access to hosts and users' choices of hosts.
pub trait HostInspect<AccountId, BlockNumber> {
	/// The record of `operator`'s host, if admitted.
	fn host(operator: &AccountId) -> Option<HostInfo<BlockNumber>>;
	/// The admitted hosts `user` chose.
	fn hosts_of(user: &AccountId) -> Vec<AccountId>;
}

/// The HTTP URL of a host's JSON-RPC endpoint, which serves WebSocket and HTTP on one port:
/// `ws://` becomes `http://`, `wss://` `https://`; `None` if it is neither nor HTTP(S).
pub fn http_url(endpoint: &[u8]) -> Option<alloc::string::String> {
	let endpoint = core::str::from_utf8(endpoint).ok()?;
	let (scheme, rest) = if let Some(rest) = endpoint.strip_prefix("ws://") {
		("http://", rest)
	} else if let Some(rest) = endpoint.strip_prefix("wss://") {
		("https://", rest)
	} else if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
		("", endpoint)
	} else {
		return None;
	};
	Some([scheme, rest].concat())
}

/// Where an envelope sits in its sender's anchor: the batch root and the inclusion proof of
/// its leaf. An envelope anchored alone has root [`crate::merkle::single_root`] of its leaf
/// and [`crate::merkle::single_proof`].
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct BatchMembership {
	/// The anchored root.
	pub root: H256,
	/// The leaf's proof against it.
	pub proof: InclusionProof,
}

/// Domain separation of batch signatures.
pub const BATCH_CONTEXT: &[u8] = b"quarks/batch/v1";

/// The bytes a sender signs to vouch that it anchors batch `root` on chain `genesis`.
pub fn batch_payload(genesis: &H256, root: &H256) -> Vec<u8> {
	(BATCH_CONTEXT, genesis, root).encode()
}

/// Where an envelope sits in its sender's anchor, as its sender vouches for it: nodes and
/// hosts take a batch's root only with the sender's sr25519 signature over
/// [`batch_payload`], so nobody who merely learns an envelope's hash (a host operator, a
/// group member) can move it to a root that is never anchored. An envelope anchored alone
/// needs none: its root is its own leaf's ([`crate::merkle::single_root`]), which nobody
/// can change.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
pub struct SignedMembership {
	/// The membership.
	pub membership: BatchMembership,
	/// The sender's signature of the root; `None` for an envelope anchored alone.
	pub signature: Option<[u8; 64]>,
}

impl SignedMembership {
	/// The membership of an envelope anchored alone, whose leaf is `leaf`.
	pub fn alone(leaf: &H256) -> Self {
		let membership = BatchMembership {
			root: crate::merkle::single_root(leaf),
			proof: crate::merkle::single_proof(),
		};
		SignedMembership { membership, signature: None }
	}
}

/// Domain separation of submission signatures.
pub const SUBMISSION_CONTEXT: &[u8] = b"quarks/submit/v1";

/// An envelope with its sender's sr25519 signature over [`submission_payload`]: what a
/// client hands its node and nodes hand hosts. Anyone can check it against the sender's
/// account, so a host can hold an envelope before its anchor exists.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct Submission {
	/// The encoded envelope.
	pub envelope: Vec<u8>,
	/// The sender's signature.
	pub signature: [u8; 64],
}

/// The bytes a sender signs to submit envelope `envelope` on chain `genesis`.
pub fn submission_payload(genesis: &H256, envelope: &H256) -> Vec<u8> {
	(SUBMISSION_CONTEXT, genesis, envelope).encode()
}

/// Most anchors asked of `HostingApi::anchors` at once.
pub const MAX_ANCHOR_QUERIES: usize = 1024;

/// Most blocks `HostingApi::receipts_from` reads in one call: a host catching up after
/// days down makes one call per this many blocks, not one per block.
pub const MAX_RECEIPT_BLOCKS: u32 = 4096;

/// Receipts after which `HostingApi::receipts_from` stops, at the end of a block: what one
/// answer holds is bounded whatever the range.
pub const MAX_RECEIPTS_READ: usize = 16_384;

/// The JSON-RPC error code of a call refused for its caller's rate: a public endpoint's
/// budget per address (docs/rpc.md) uses Substrate's code for `--rpc-rate-limit`
/// (sc-rpc-server's middleware), so a client handles both limits alike.
pub const RATE_LIMITED: i32 = -32999;

/// Most items in one `quarks_hostEnvelopes` request.
pub const MAX_HOST_ITEMS: usize = 4096;

/// Most submissions in one `quarks_submitEnvelopes` call (its bytes are bounded by
/// [`MAX_HOST_REQUEST_BYTES`] too).
pub const MAX_SUBMISSIONS: usize = 256;

/// What a node answers for one envelope of a `quarks_submitEnvelopes` call.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum SubmitAnswer {
	/// Accepted, with its hash: pushed to its recipients' hosts and kept for the relay, as
	/// `quarks_submitEnvelope` accepts one.
	Accepted(H256),
	/// Refused with the code and message `quarks_submitEnvelope` would answer; `retry` if
	/// the same envelope may be accepted later (a rate, a full queue).
	#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
	Refused {
		/// The error code (docs/rpc.md).
		code: u16,
		/// What it means.
		message: alloc::string::String,
		/// Whether the same envelope may be accepted later.
		retry: bool,
	},
}

/// Most encoded bytes of one `quarks_hostEnvelopes` request's items; relays and nodes
/// split larger batches.
pub const MAX_HOST_REQUEST_BYTES: usize = 4 << 20;

/// What a node or relay hands a host.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum HostItem {
	/// An envelope the host may not hold yet. Without a membership, or while its anchor is
	/// not in the host's best block, it is kept provisionally.
	Envelope {
		/// The signed envelope.
		submission: Submission,
		/// Where it is anchored, if known.
		membership: Option<SignedMembership>,
	},
	/// Where an envelope the host holds is anchored.
	Membership {
		/// The envelope hash.
		envelope: H256,
		/// Its place in its sender's anchor.
		membership: SignedMembership,
	},
}

/// A host's answer to one [`HostItem`].
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub enum HostAnswer<BlockNumber> {
	/// Kept: provisionally while `anchored_at` is `None`, else as anchored in that block.
	/// "Kept" means committed to the host's store (docs/security.md on durability).
	Stored {
		/// The block of its anchor, once the host has seen it.
		anchored_at: Option<BlockNumber>,
	},
	/// A membership for an envelope this host does not hold: send the envelope.
	Missing,
	/// Refused, with the error code docs/rpc.md lists; `retry` says whether asking again
	/// later may succeed (a full mailbox, a rate limit) or not (not for this host, forged).
	Refused {
		/// The error code.
		code: u16,
		/// Whether a later attempt may succeed.
		retry: bool,
	},
	/// Not kept: every recipient who chose this host has acknowledged it on chain, so a
	/// copy posted again (by a relay after a restart, or anyone re-injecting it) is done.
	Delivered,
}

sp_api::decl_runtime_apis! {
	/// What nodes, relays and hosts ask the chain.
	///
	/// Version 2: `receipts_from` (a range of blocks per call) replaces `receipts_at`.
	/// Version 3: `device_records`, so hosts keep mail until each device has it.
	#[api_version(3)]
	pub trait HostingApi<AccountId: Codec, BlockNumber: Codec> {
		/// The anchor `sender` recorded under `root`, if kept.
		fn anchor(sender: AccountId, root: H256) -> Option<AnchorRecord<BlockNumber>>;
		/// The anchors recorded under each (sender, root), at most [`MAX_ANCHOR_QUERIES`].
		fn anchors(keys: Vec<(AccountId, H256)>) -> Vec<Option<AnchorRecord<BlockNumber>>>;
		/// The anchors recorded in block `block`: sender, root, record.
		fn anchors_in(block: BlockNumber) -> Vec<(AccountId, H256, AnchorRecord<BlockNumber>)>;
		/// Whether `who` has a device bound now: an account that can send.
		fn has_device(who: AccountId) -> bool;
		/// The record of `operator`'s host, if admitted.
		fn host(operator: AccountId) -> Option<HostInfo<BlockNumber>>;
		/// The accounts an envelope for `destination` is for.
		fn recipients(destination: Destination<AccountId>) -> Vec<AccountId>;
		/// Those of them who chose the admitted host of `operator`.
		fn hosted_recipients(destination: Destination<AccountId>, operator: AccountId) -> Vec<AccountId>;
		/// Every admitted host some recipient of `destination` chose, with its record.
		fn delivery_hosts(destination: Destination<AccountId>) -> Vec<(AccountId, HostInfo<BlockNumber>)>;
		/// The receipts (envelope hash, recipient) recorded in blocks `from..=to`, whole
		/// blocks at a time, at most [`MAX_RECEIPT_BLOCKS`] of them and stopping after the
		/// block that reaches [`MAX_RECEIPTS_READ`] receipts; with the last block read.
		fn receipts_from(from: BlockNumber, to: BlockNumber) -> (Vec<(H256, AccountId)>, BlockNumber);
		/// Those of `recipients` whose receipt of `envelope` the chain keeps.
		fn acknowledged_by(envelope: H256, recipients: Vec<AccountId>) -> Vec<AccountId>;
		/// The records of the devices `who` bound that the chain still keeps, removed ones
		/// included, oldest first.
		#[api_version(3)]
		fn device_records(who: AccountId) -> Vec<DeviceRecord<BlockNumber>>;
	}
}
