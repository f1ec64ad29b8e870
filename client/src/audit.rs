//! Audit and proof: what the chain says of an envelope, and a non-repudiation proof a
//! recipient can hand to anyone.
//!
//! A proof carries the envelope, the block that anchored it, and the envelope's own
//! AES-256-GCM key. The verifier needs no secret: the key opens that one envelope (for a
//! group, its epoch) and reveals no long-term key; the sender's sr25519 signature inside
//! binds the sender to the letter, and the finalized anchor binds the envelope's hash to
//! the sender's account and a block.

use crate::{
	chain::{account_value, hash_value, Chain, ChainError},
	messenger::{anchor_of, key_at, Anchor, Content, Messenger, ReadError},
	seal::{self, Letter, OpenWith, SealError},
	BlockNumber,
};
use codec::{Decode, Encode};
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	Destination, KeyVersion,
};
use serde::{Deserialize, Serialize};
use sp_core::{crypto::AccountId32, Bytes, H256};

/// Format tag of proof files.
pub const PROOF_FORMAT: &str = "quarks-proof/1";

/// One recipient's part in an audit.
#[derive(Clone, Debug)]
pub struct RecipientAudit {
	/// The recipient.
	pub account: AccountId32,
	/// Their key version valid at the anchoring block.
	pub key_version: Option<KeyVersion>,
	/// The block of their delivery receipt, if recorded.
	pub receipt: Option<BlockNumber>,
}

/// What the finalized chain says of one envelope.
#[derive(Clone, Debug)]
pub struct Audit {
	/// The envelope hash.
	pub hash: H256,
	/// The anchor.
	pub anchor: Anchor,
	/// The hash of the anchoring block.
	pub anchor_block: Option<H256>,
	/// The sender's key version valid at the anchoring block.
	pub sender_key: Option<KeyVersion>,
	/// The key version a 1:1 envelope was sealed to, if the envelope is at hand.
	pub sealed_to: Option<KeyVersion>,
	/// Every recipient, with key and receipt.
	pub recipients: Vec<RecipientAudit>,
}

/// Audits `hash`; `envelope`, if held, adds the key version it was sealed to. `None` if
/// the chain keeps no anchor under `hash` (never anchored, or pruned after 7 days).
pub async fn audit(
	chain: &Chain,
	hash: &H256,
	envelope: Option<&[u8]>,
) -> Result<Option<Audit>, ChainError> {
	let Some(anchor) = anchor_of(chain, hash).await? else { return Ok(None) };
	let at = anchor.anchored_at;
	let sender_key = key_at(chain, &anchor.sender, at).await?.map(|k| k.version);
	let recipients: Vec<AccountId32> =
		chain.runtime_api("HostingApi_recipients", &anchor.destination.encode()).await?;
	let mut audited = Vec::new();
	for account in recipients {
		let receipt: Option<BlockNumber> = chain
			.view("Messaging", "receipt_of", vec![hash_value(hash), account_value(&account)])
			.await?;
		let key_version = key_at(chain, &account, at).await?.map(|k| k.version);
		audited.push(RecipientAudit { account, key_version, receipt });
	}
	let sealed_to = envelope
		.and_then(|bytes| Envelope::<AccountId32>::decode_checked(bytes).ok())
		.and_then(|e| seal::sealed_key_version(&e));
	Ok(Some(Audit {
		hash: *hash,
		anchor_block: chain.finalized_hash(at).await?,
		anchor,
		sender_key,
		sealed_to,
		recipients: audited,
	}))
}

/// The envelopes in the local store between this identity and `peer` (a person), or of a
/// group, as (hash, envelope), unordered: the caller orders them by anchor block.
pub fn conversation(
	messenger: &Messenger,
	peer: &Destination<AccountId32>,
) -> std::io::Result<Vec<(H256, Vec<u8>)>> {
	let me = messenger.account();
	let mut out = Vec::new();
	for bytes in messenger.store.all()? {
		let Ok(envelope) = Envelope::<AccountId32>::decode_checked(&bytes) else { continue };
		let ours = match (peer, &envelope.destination) {
			(Destination::Direct(peer), Destination::Direct(to)) => {
				(&envelope.sender == me && to == peer) || (&envelope.sender == peer && to == me)
			}
			(Destination::Group { group, .. }, Destination::Group { group: g, .. }) => group == g,
			_ => false,
		};
		if ours {
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
	/// The envelope's AES-256-GCM key.
	pub message_key: Bytes,
	/// The block that anchored it.
	pub anchored_at: BlockNumber,
	/// That block's hash.
	pub anchor_block: H256,
}

/// What a valid proof shows.
#[derive(Clone, Debug)]
pub struct Verified {
	/// The sender, whose signature verified.
	pub sender: AccountId32,
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
	/// No anchor under the envelope's hash in finalized state.
	#[error("the envelope is not anchored on chain (or its anchor was pruned after 7 days)")]
	NotAnchored,
	/// The anchor names another sender, destination, class or block.
	#[error("the on-chain anchor does not match the envelope and block in the proof")]
	AnchorMismatch,
	/// The sender's key was not valid when the anchor was recorded.
	#[error("the sender had no valid key at the anchoring block")]
	SenderKeyNotValid,
	/// The chain could not be asked.
	#[error(transparent)]
	Chain(#[from] ChainError),
}

/// Builds the proof of received envelope `hash` from the local store, re-checking it.
pub async fn prove(messenger: &mut Messenger, hash: &H256) -> Result<Proof, ReadError> {
	let bytes =
		messenger.store.get(hash).map_err(|e| ReadError::Keep(e.to_string()))?.ok_or_else(
			|| ReadError::Keep(format!("envelope {hash:?} is not in the local store")),
		)?;
	let received = messenger.read(&bytes).await?;
	let anchor_block = messenger
		.chain
		.finalized_hash(received.anchor.anchored_at)
		.await?
		.ok_or(ReadError::Unanchored)?;
	Ok(Proof {
		format: PROOF_FORMAT.into(),
		genesis: messenger.chain.genesis(),
		envelope: bytes.into(),
		message_key: received.opened.message_key.to_vec().into(),
		anchored_at: received.anchor.anchored_at,
		anchor_block,
	})
}

/// Checks `proof` against the finalized chain, with no secret key.
pub async fn verify(chain: &Chain, proof: &Proof) -> Result<Verified, ProofError> {
	if proof.format != PROOF_FORMAT {
		return Err(ProofError::Format(format!("unknown format {}", proof.format)));
	}
	if proof.genesis != chain.genesis() {
		return Err(ProofError::OtherChain { expected: chain.genesis(), found: proof.genesis });
	}
	let key: [u8; 32] = proof
		.message_key
		.0
		.as_slice()
		.try_into()
		.map_err(|_| ProofError::Format("message key is not 32 bytes".into()))?;
	let opened = seal::open(&proof.envelope, OpenWith::MessageKey(&key))?;
	let hash = hash_of(&proof.envelope);
	let anchor = anchor_of(chain, &hash).await?.ok_or(ProofError::NotAnchored)?;
	let envelope = Envelope::<AccountId32>::decode_checked(&proof.envelope)
		.map_err(|e| ProofError::Seal(SealError::Malformed(e)))?;
	if !envelope.matches(&anchor)
		|| anchor.anchored_at != proof.anchored_at
		|| chain.finalized_hash(anchor.anchored_at).await? != Some(proof.anchor_block)
	{
		return Err(ProofError::AnchorMismatch);
	}
	if key_at(chain, &opened.sender, anchor.anchored_at).await?.is_none() {
		return Err(ProofError::SenderKeyNotValid);
	}
	Ok(Verified {
		content: Content::decode(&mut &opened.letter.content[..]).ok(),
		sender: opened.sender,
		destination: opened.destination,
		letter: opened.letter,
		hash,
		anchored_at: anchor.anchored_at,
	})
}
