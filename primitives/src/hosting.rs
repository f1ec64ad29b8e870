//! What relays, hosts and clients agree on off chain: host records as they read them, the
//! relay queue the node and its offchain worker share, signed mailbox requests, and the
//! runtime API hosts ask.

use crate::{merkle::InclusionProof, AnchorRecord, Destination};
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

/// Where an envelope anchored in a batch sits: the batch root and its inclusion proof.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
pub struct BatchMembership {
	/// The anchored batch root.
	pub root: H256,
	/// The envelope's proof against it.
	pub proof: InclusionProof,
}

/// A relay's progress towards one host.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct Delivery<AccountId, BlockNumber> {
	/// The host's operator.
	pub host: AccountId,
	/// The block at which the host confirmed storage.
	pub confirmed_at: Option<BlockNumber>,
	/// Failed attempts so far.
	pub attempts: u32,
	/// The first block at which to try again.
	pub next_attempt: BlockNumber,
}

/// An envelope a node accepted for relay, with its delivery state.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct RelayItem<AccountId, BlockNumber> {
	/// The encoded envelope.
	pub envelope: Vec<u8>,
	/// For an envelope anchored in a batch, its place in it.
	pub batch: Option<BatchMembership>,
	/// The node's best block when it accepted the envelope.
	pub queued_at: BlockNumber,
	/// One entry per host of each recipient; empty until the anchor is seen.
	pub deliveries: Vec<Delivery<AccountId, BlockNumber>>,
}

/// An envelope in the relay queue and the first block at which it needs attention.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueueEntry<BlockNumber> {
	/// The envelope hash.
	pub envelope: H256,
	/// The first block at which the worker looks at it again.
	pub due: BlockNumber,
}

/// Keys of the relay's state in the node's persistent offchain storage.
pub mod relay_keys {
	use super::*;

	/// The queue: `Vec<QueueEntry>`.
	pub const QUEUE: &[u8] = b"quarks/relay/queue";
	/// The lock that keeps one worker relaying at a time.
	pub const LOCK: &[u8] = b"quarks/relay/lock";

	/// Where the [`RelayItem`] of `envelope` is kept.
	pub fn item(envelope: &H256) -> Vec<u8> {
		[&b"quarks/relay/item/"[..], envelope.as_bytes()].concat()
	}
}

/// Most envelopes a node keeps queued for relay; submissions beyond it are refused.
pub const MAX_RELAY_QUEUE: usize = 4096;

/// Blocks a relay waits for an envelope's anchor before it drops the envelope.
pub const ANCHOR_WAIT: u32 = 100;

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
}

/// Domain separation for mailbox request signatures.
pub const MAILBOX_CONTEXT: &[u8] = b"quarks/mailbox/v1";

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

sp_api::decl_runtime_apis! {
	/// What hosts and relays ask the chain.
	pub trait HostingApi<AccountId: Codec, BlockNumber: Codec> {
		/// The anchor recorded under `anchor` (an envelope hash or a batch root), if kept.
		fn anchor(anchor: H256) -> Option<AnchorRecord<AccountId, BlockNumber>>;
		/// The record of `operator`'s host, if admitted.
		fn host(operator: AccountId) -> Option<HostInfo<BlockNumber>>;
		/// The accounts an envelope for `destination` is for.
		fn recipients(destination: Destination<AccountId>) -> Vec<AccountId>;
		/// Those of them who chose the admitted host of `operator`.
		fn hosted_recipients(destination: Destination<AccountId>, operator: AccountId) -> Vec<AccountId>;
		/// The receipts recorded in block `at`: (envelope hash, recipient).
		fn receipts_at(at: BlockNumber) -> Vec<(H256, AccountId)>;
	}
}
