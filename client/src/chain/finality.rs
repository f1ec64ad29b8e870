//! Finality this client proves instead of believing its node: GRANDPA justifications
//! checked with sc-consensus-grandpa's own code against the authority sets it followed from
//! a checkpoint it trusts, and the headers that link a block to a justified descendant.
//!
//! A [`Checkpoint`] is the client's trust: the GRANDPA sets it knows, each with the first
//! block it finalizes, and the last block whose finality it proved. It moves only through
//! proofs: a warp proof ([`Checkpoint::advance`]) hands finality from set to set, each hand-off
//! signed by the set before and carried in a header that set finalized. A forced change
//! (finality recovered by the network's privileged origin) is no such hand-off: the new
//! set's justifications are refused until the user pins a new checkpoint.

use crate::BlockNumber;
use codec::{Decode, DecodeAll, Encode};
use sc_consensus_grandpa::{
	find_scheduled_change, warp_proof::WarpSyncFragment, FinalityProof, GrandpaJustification,
};
use sp_consensus_grandpa::AuthorityList;
use sp_core::H256;
use sp_runtime::traits::{BlakeTwo256, Header as _};

/// A Quarks header, as the runtime defines it.
pub type Header = sp_runtime::generic::Header<BlockNumber, BlakeTwo256>;
/// A Quarks block, its extrinsics opaque.
pub type Block = sp_runtime::generic::Block<Header, sp_runtime::OpaqueExtrinsic>;

/// Most authority sets a checkpoint remembers: blocks older than the oldest are refused.
pub const MAX_SETS: usize = 64;

/// One GRANDPA authority set and the first block it finalizes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AuthoritySet {
	/// Its id: 0 at genesis, one more at each hand-off.
	pub id: u64,
	/// Its voters and their weights.
	pub authorities: AuthorityList,
	/// The first block it finalizes (the one after its predecessor's last).
	pub from: BlockNumber,
}

/// What this client trusts of the chain's finality.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Checkpoint {
	/// The sets it knows, oldest first, never empty.
	pub sets: Vec<AuthoritySet>,
	/// The last block it proved final.
	pub number: BlockNumber,
	/// That block's hash.
	pub hash: H256,
}

/// Why a finality proof was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FinalityError {
	/// The proof does not decode.
	#[error("a finality proof that does not decode: {0}")]
	Malformed(String),
	/// The justification is not signed by a two-thirds majority of the set that had to sign it.
	#[error("a GRANDPA justification the authority set {set} did not sign: {reason}")]
	BadJustification {
		/// The set it was checked against.
		set: u64,
		/// What sc-consensus-grandpa found.
		reason: String,
	},
	/// The headers do not link the block to the justified one.
	#[error("block {block}'s header is not an ancestor of the justified block")]
	BrokenChain {
		/// The block.
		block: BlockNumber,
	},
	/// The proof names a block before every set this client knows.
	#[error("block {0} is older than this client's checkpoint")]
	BeforeCheckpoint(BlockNumber),
	/// A warp proof that goes backwards, or claims a hand-off at the wrong place.
	#[error("an authority-set proof that does not follow this client's checkpoint: {0}")]
	BadHandOff(String),
}

impl Checkpoint {
	/// Trust `authorities` as set `id` from block `number` (`hash`) on: genesis (set 0) from
	/// a chain spec, or a finalized block pinned on first use.
	pub fn pinned(id: u64, authorities: AuthorityList, number: BlockNumber, hash: H256) -> Self {
		Self { sets: vec![AuthoritySet { id, authorities, from: number }], number, hash }
	}

	/// This checkpoint, with the next set if `header` (its block) hands finality on: the
	/// warp proof from a block starts after it.
	pub fn handing_off_at(mut self, header: &Header) -> Self {
		if let Some(change) = find_scheduled_change::<Block>(header) {
			let current = self.current();
			let next = AuthoritySet {
				id: current.id.saturating_add(1),
				authorities: change.next_authorities,
				from: header.number().saturating_add(1),
			};
			self.sets.push(next);
		}
		self
	}

	/// The set that finalizes block `number`: the newest one starting at or before it; a
	/// block before the first known set is tried against that set, whose signatures decide.
	fn set_for(&self, number: BlockNumber) -> &AuthoritySet {
		let oldest = self.sets.first().expect("a checkpoint always holds a set");
		self.sets.iter().rev().find(|set| set.from <= number).unwrap_or(oldest)
	}

	/// The newest known set.
	pub fn current(&self) -> &AuthoritySet {
		self.sets.last().expect("a checkpoint always holds a set")
	}

	/// Checks `proof` (SCALE `FinalityProof`, from `quarks_finalityProof`) of `header`:
	/// its justification signed by the set that finalizes the justified block, and the
	/// headers linking `header` to it. Returns the justified block's number.
	pub fn verify(&self, header: &Header, proof: &[u8]) -> Result<BlockNumber, FinalityError> {
		let malformed = |e: codec::Error| FinalityError::Malformed(e.to_string());
		let proof = FinalityProof::<Header>::decode_all(&mut &proof[..]).map_err(malformed)?;
		let justification =
			GrandpaJustification::<Block>::decode_all(&mut &proof.justification[..])
				.map_err(malformed)?;
		let (justified, justified_hash) = justification.target();
		let broken = FinalityError::BrokenChain { block: *header.number() };
		if justified_hash != proof.block || justified < *header.number() {
			return Err(broken);
		}
		// Each header after `header` names the one before as its parent, and the last is
		// the justified block.
		let mut child_of = (*header.number(), header.hash());
		for next in &proof.unknown_headers {
			if *next.parent_hash() != child_of.1
				|| Some(*next.number()) != child_of.0.checked_add(1)
			{
				return Err(broken);
			}
			child_of = (*next.number(), next.hash());
		}
		if child_of != (justified, justified_hash) {
			return Err(broken);
		}
		let set = self.set_for(justified);
		bounded(&justification, set)?;
		justification.verify(set.id, &set.authorities).map_err(|e| {
			if justified < set.from {
				FinalityError::BeforeCheckpoint(*header.number())
			} else {
				FinalityError::BadJustification { set: set.id, reason: e.to_string() }
			}
		})?;
		Ok(justified)
	}

	/// Follows `proof` (SCALE warp-sync proof from this checkpoint, `quarks_authorityChanges`)
	/// to the sets after the current one. Returns the moved checkpoint and whether the proof
	/// reached the node's latest justification (else ask again from the new checkpoint).
	pub fn advance(&self, proof: &[u8]) -> Result<(Checkpoint, bool), FinalityError> {
		let malformed = |e: codec::Error| FinalityError::Malformed(e.to_string());
		// `WarpSyncProof` keeps its fields private; its encoding is theirs in order.
		let (fragments, finished) =
			<(Vec<WarpSyncFragment<Block>>, bool)>::decode_all(&mut &proof[..])
				.map_err(malformed)?;
		let mut next = self.clone();
		let count = fragments.len();
		for (i, fragment) in fragments.into_iter().enumerate() {
			let number = *fragment.header.number();
			let hash = fragment.header.hash();
			if number < next.number {
				return Err(FinalityError::BadHandOff(format!("block {number} is behind")));
			}
			let set = next.current();
			if number < set.from {
				return Err(FinalityError::BadHandOff(format!(
					"block {number} is before set {} it claims signed it",
					set.id
				)));
			}
			bounded(&fragment.justification, set)?;
			fragment.justification.verify(set.id, &set.authorities).map_err(|e| {
				FinalityError::BadJustification { set: set.id, reason: e.to_string() }
			})?;
			if fragment.justification.target() != (number, hash) {
				return Err(FinalityError::BadHandOff(format!(
					"block {number}'s justification is another block's"
				)));
			}
			let id = set.id.saturating_add(1);
			(next.number, next.hash) = (number, hash);
			match find_scheduled_change::<Block>(&fragment.header) {
				Some(change) => {
					next.sets.push(AuthoritySet {
						id,
						authorities: change.next_authorities,
						from: number.saturating_add(1),
					});
					if next.sets.len() > MAX_SETS {
						next.sets.remove(0);
					}
				}
				// Only the latest justification may hand nothing on.
				None if i + 1 == count && finished => {}
				None => {
					return Err(FinalityError::BadHandOff(format!(
						"block {number} ends a set without naming the next"
					)))
				}
			}
		}
		Ok((next, finished))
	}
}

/// Refuses a justification with more votes than its set has voters twice over, or more
/// ancestry headers than a proof carries: each costs a signature check or a header walk,
/// and a node could send thousands.
fn bounded(
	justification: &GrandpaJustification<Block>,
	set: &AuthoritySet,
) -> Result<(), FinalityError> {
	let inner = &justification.justification;
	let votes = inner.commit.precommits.len();
	if votes > set.authorities.len().saturating_mul(2) || inner.votes_ancestries.len() > 1024 {
		return Err(FinalityError::Malformed(format!(
			"a justification of {votes} votes and {} ancestors for {} voters",
			inner.votes_ancestries.len(),
			set.authorities.len()
		)));
	}
	Ok(())
}
