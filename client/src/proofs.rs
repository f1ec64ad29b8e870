//! Audits and proofs: what the finalized chain says of a message, and a non-repudiation
//! proof a recipient can hand to anyone.
//!
//! A proof carries the envelope, its place in its sender's anchor, the block of that anchor
//! and the letter's one-time message key. The verifier needs no secret: the key opens that
//! one letter and no other message (each letter has its own key, which the envelope
//! commits to), and reveals nothing of the conversation's MLS secrets; the signature of
//! the sender's device inside binds the device to the letter; the chain says the device
//! was bound to the sender's account at the anchoring block; the final anchor binds the
//! envelope's leaf — its hash, destination and size class — to the sender's account and a
//! block. Proofs are made of final anchors only, and carry their [`Evidence`]: with it they
//! check with no node, from the network's chain spec alone ([`verify_offline`]).

use crate::{
	chain::{At, Chain, ChainError},
	error::ClientError,
	inbox::Notarization,
	messenger::Messenger,
	queries::{anchored_at, device_at, receipt_of, recipients},
	seal::{self, Content, Letter, MessageKey, SealError},
	BlockNumber,
};
use codec::Decode;
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	hosting::BatchMembership,
	merkle::{single_proof, single_root, AnchorLeaf},
	Destination, DeviceKey, DeviceRecord, GroupId,
};
use serde::{Deserialize, Serialize};
use sp_core::{crypto::AccountId32, Bytes, H256};

mod evidence;
pub use evidence::{Evidence, Genesis};

/// Format tag of proof files: 4 carries the [`Evidence`] that checks with no node.
pub const PROOF_FORMAT: &str = "quarks-proof/4";

/// One recipient's part in an audit.
#[derive(Clone, Debug)]
pub struct RecipientAudit {
	/// The recipient.
	pub account: AccountId32,
	/// The block of their delivery receipt, if recorded.
	pub receipt: Option<BlockNumber>,
}

/// What the finalized chain says of one envelope.
#[derive(Clone, Debug)]
pub struct Audit {
	/// The envelope hash.
	pub hash: H256,
	/// Its sender, who anchored it.
	pub sender: AccountId32,
	/// Its leaf: destination and size class.
	pub leaf: AnchorLeaf<AccountId32>,
	/// Its place in the sender's anchor.
	pub membership: BatchMembership,
	/// The anchoring block.
	pub anchored_at: BlockNumber,
	/// That block's hash.
	pub anchor_block: Option<H256>,
	/// For a letter whose key is known: the device that signed it, and whether the chain
	/// had it bound to the sender at the anchoring block.
	pub device: Option<(DeviceKey, bool)>,
	/// Every recipient, with their receipt.
	pub recipients: Vec<RecipientAudit>,
}

/// Audits envelope `bytes` anchored as `membership` says (or alone), its letter opened
/// with `key` if given: `None` if no final anchor of its sender covers it (never anchored,
/// not final yet, or pruned after 7 days).
pub async fn audit(
	chain: &Chain,
	bytes: &[u8],
	membership: Option<BatchMembership>,
	key: Option<MessageKey>,
) -> Result<Option<Audit>, ChainError> {
	let hash = hash_of(bytes);
	let Ok(envelope) = Envelope::<AccountId32>::decode_checked(bytes) else { return Ok(None) };
	let leaf = envelope.leaf(hash);
	let membership = membership.unwrap_or_else(|| BatchMembership {
		root: single_root(&leaf.value()),
		proof: single_proof(),
	});
	let Some(at) = anchored_at(chain, &envelope.sender, &leaf, &membership, At::Finalized).await?
	else {
		return Ok(None);
	};
	let device = match key
		.map(|key| seal::parse(bytes).and_then(|(e, b)| seal::open_letter(&e, &b, &key)))
	{
		Some(Ok(opened)) => {
			let bound = device_at(chain, &envelope.sender, &opened.device, at).await?.is_some();
			Some((opened.device, bound))
		}
		_ => None,
	};
	let mut audited = Vec::new();
	for account in recipients(chain, &envelope.destination).await? {
		let receipt = receipt_of(chain, &hash, &account).await?;
		audited.push(RecipientAudit { account, receipt });
	}
	Ok(Some(Audit {
		hash,
		sender: envelope.sender,
		leaf,
		membership,
		anchored_at: at,
		anchor_block: chain.finalized_hash(at).await?,
		device,
		recipients: audited,
	}))
}

/// The envelopes of `group` in the local store (letters and commits), as (hash,
/// envelope), unordered: the caller orders them by anchor block.
pub fn conversation(
	messenger: &Messenger,
	group: GroupId,
) -> std::io::Result<Vec<(H256, Vec<u8>)>> {
	let mut out = Vec::new();
	for bytes in messenger.store.all()? {
		let Ok(envelope) = Envelope::<AccountId32>::decode_checked(&bytes) else { continue };
		if matches!(envelope.destination, Destination::Group { group: g, .. } if g == group) {
			out.push((hash_of(&bytes), bytes));
		}
	}
	Ok(out)
}

/// A non-repudiation proof of one received envelope.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Proof {
	/// [`PROOF_FORMAT`].
	pub format: String,
	/// The chain's genesis hash.
	pub genesis: H256,
	/// The encoded envelope.
	pub envelope: Bytes,
	/// Its place in its sender's anchor.
	pub membership: BatchMembership,
	/// The letter's one-time message key.
	pub message_key: Bytes,
	/// The block that anchored it.
	pub anchored_at: BlockNumber,
	/// That block's hash.
	pub anchor_block: H256,
	/// What checks it with no node.
	pub evidence: Evidence,
}

/// What a valid proof shows.
#[derive(Clone, Debug)]
pub struct Verified {
	/// The sender, whose device's signature verified.
	pub sender: AccountId32,
	/// The device that signed it, bound to the sender at the anchoring block.
	pub device: DeviceKey,
	/// Where it went.
	pub destination: Destination<AccountId32>,
	/// What the sender wrote and signed.
	pub letter: Letter,
	/// Its content, decoded.
	pub content: Option<Content>,
	/// The envelope hash.
	pub hash: H256,
	/// The anchoring block.
	pub anchored_at: BlockNumber,
}

/// Why a proof does not hold.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
	/// Not a proof file this client understands.
	#[error("not a Quarks proof: {0}")]
	Format(String),
	/// The proof is for another network.
	#[error("the proof is for the chain with genesis {found:?}, this node follows {expected:?}")]
	OtherChain {
		/// This node's genesis.
		expected: H256,
		/// The proof's.
		found: H256,
	},
	/// The envelope does not open with the key, or its signature fails.
	#[error(transparent)]
	Seal(#[from] SealError),
	/// No final anchor of the sender covers the envelope's leaf as the proof says.
	#[error("no final anchor of the sender covers this envelope (or it was pruned after 7 days)")]
	NotAnchored,
	/// The anchor is in another block than the proof names.
	#[error("the on-chain anchor is not in the block the proof names")]
	AnchorMismatch,
	/// The signing device was not bound to the sender when the anchor was recorded.
	#[error("the signing device was not bound to the sender at the anchoring block")]
	DeviceNotBound,
	/// The chain could not be asked.
	#[error(transparent)]
	Chain(#[from] ChainError),
}

/// Builds the proof of received envelope `hash` from the local store, re-checking it; only
/// for a message whose anchor is final.
pub async fn prove(messenger: &Messenger, hash: &H256) -> Result<Proof, ClientError> {
	let bytes = messenger.store.get(hash)?.ok_or(ClientError::NotInStore(*hash))?;
	let received = messenger.open_envelope(&bytes).await?;
	let message_key =
		received.letter().map(|(opened, _)| opened.message_key).ok_or(SealError::NotA("letter"))?;
	let (Notarization::Final(anchored_at), Some(membership)) =
		(received.notarization, received.membership)
	else {
		return Err(ClientError::NotFinal(*hash));
	};
	let anchor_block =
		messenger.chain.finalized_hash(anchored_at).await?.ok_or(ClientError::NotFinal(*hash))?;
	let evidence =
		evidence::gather(&messenger.chain, &received.sender, &membership.root, anchored_at)
			.await?
			.ok_or(ClientError::NotFinal(*hash))?;
	Ok(Proof {
		format: PROOF_FORMAT.into(),
		genesis: messenger.chain.genesis(),
		envelope: bytes.into(),
		membership,
		message_key: message_key.to_vec().into(),
		anchored_at,
		anchor_block,
		evidence,
	})
}

/// Checks `proof` against the finalized chain, with no secret key.
pub async fn verify(chain: &Chain, proof: &Proof) -> Result<Verified, ProofError> {
	if proof.genesis != chain.genesis() {
		return Err(ProofError::OtherChain { expected: chain.genesis(), found: proof.genesis });
	}
	let (verified, leaf) = open(proof)?;
	let at = anchored_at(chain, &verified.sender, &leaf, &proof.membership, At::Finalized)
		.await?
		.ok_or(ProofError::NotAnchored)?;
	if at != proof.anchored_at || chain.finalized_hash(at).await? != Some(proof.anchor_block) {
		return Err(ProofError::AnchorMismatch);
	}
	if device_at(chain, &verified.sender, &verified.device, at).await?.is_none() {
		return Err(ProofError::DeviceNotBound);
	}
	Ok(verified)
}

/// Checks `proof` with no node, from the network's `genesis` alone (its raw chain spec): its
/// evidence from genesis to the anchoring block's state, then the letter.
pub fn verify_offline(genesis: &Genesis, proof: &Proof) -> Result<Verified, ProofError> {
	let (verified, leaf) = open(proof)?;
	let root = &proof.membership.root;
	let at = (proof.anchored_at, proof.anchor_block);
	let sender_root = (&verified.sender, root);
	let proven = evidence::check(genesis, proof.genesis, &proof.evidence, sender_root, at)?;
	let anchor = proven
		.anchor
		.filter(|anchor| anchor.covers(root, &leaf.value(), &proof.membership.proof))
		.ok_or(ProofError::NotAnchored)?;
	if anchor.anchored_at != proof.anchored_at {
		return Err(ProofError::AnchorMismatch);
	}
	let bound = |r: &DeviceRecord<BlockNumber>| {
		r.key == verified.device && r.is_bound_at(&anchor.anchored_at)
	};
	if !proven.devices.iter().any(bound) {
		return Err(ProofError::DeviceNotBound);
	}
	Ok(verified)
}

/// Opens the proof's letter with its key: what it shows if its anchor holds, and its leaf.
fn open(proof: &Proof) -> Result<(Verified, AnchorLeaf<AccountId32>), ProofError> {
	if proof.format != PROOF_FORMAT {
		return Err(ProofError::Format(format!("unknown format {}", proof.format)));
	}
	let key: [u8; 32] = proof
		.message_key
		.0
		.as_slice()
		.try_into()
		.map_err(|_| ProofError::Format("message key is not 32 bytes".into()))?;
	let (envelope, body) = seal::parse(&proof.envelope)?;
	let opened = seal::open_letter(&envelope, &body, &key)?;
	let hash = hash_of(&proof.envelope);
	let verified = Verified {
		content: Content::decode(&mut &opened.letter.content[..]).ok(),
		device: opened.device,
		sender: opened.sender,
		destination: opened.destination,
		letter: opened.letter,
		hash,
		anchored_at: proof.anchored_at,
	};
	Ok((verified, envelope.leaf(hash)))
}
