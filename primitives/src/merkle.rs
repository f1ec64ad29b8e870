//! The one Merkle tree over envelope hashes that batch anchors commit to; the runtime
//! verifies with it and the client builds with it.
//!
//! Leaves are the BLAKE2-256 of each envelope hash, so a leaf (hash of 32 bytes) can never
//! be confused with an inner node (hash of 64 bytes).

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::traits::BlakeTwo256;

/// Deepest proof accepted: enough for 2^32 leaves.
pub const MAX_PROOF_DEPTH: usize = 32;

/// Proof that an envelope hash is leaf `leaf_index` of a batch of `leaf_count` leaves.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
pub struct InclusionProof {
	/// Position of the envelope in the batch.
	pub leaf_index: u32,
	/// Number of envelopes in the batch.
	pub leaf_count: u32,
	/// Sibling hashes from the leaf up to the root.
	pub siblings: Vec<H256>,
}

/// The root committing to `envelopes`, in order.
pub fn batch_root(envelopes: &[H256]) -> H256 {
	binary_merkle_tree::merkle_root::<BlakeTwo256, _>(envelopes.iter().map(|h| h.0))
}

/// The proof for `envelopes[index]`, or `None` when `index` is out of range.
pub fn inclusion_proof(envelopes: &[H256], index: u32) -> Option<InclusionProof> {
	if index as usize >= envelopes.len() {
		return None;
	}
	let proof =
		binary_merkle_tree::merkle_proof::<BlakeTwo256, _, _>(envelopes.iter().map(|h| h.0), index);
	Some(InclusionProof {
		leaf_index: proof.leaf_index,
		leaf_count: proof.number_of_leaves,
		siblings: proof.proof,
	})
}

/// Whether `proof` shows `envelope` under `root`.
pub fn verify(root: &H256, envelope: &H256, proof: &InclusionProof) -> bool {
	proof.siblings.len() <= MAX_PROOF_DEPTH
		&& binary_merkle_tree::verify_proof::<BlakeTwo256, _, _>(
			root,
			proof.siblings.iter().copied(),
			proof.leaf_count,
			proof.leaf_index,
			&envelope.0,
		)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn envelopes(n: u8) -> Vec<H256> {
		(0..n).map(H256::repeat_byte).collect()
	}

	#[test]
	fn every_leaf_verifies_and_nothing_else_does() {
		for n in [1u8, 2, 3, 7, 8, 33] {
			let batch = envelopes(n);
			let root = batch_root(&batch);
			for i in 0..n as u32 {
				let proof = inclusion_proof(&batch, i).expect("index in range");
				assert!(verify(&root, &batch[i as usize], &proof), "leaf {i} of {n}");
				assert!(
					!verify(&root, &H256::repeat_byte(0xEE), &proof),
					"foreign leaf {i} of {n}"
				);
				let mut moved = proof.clone();
				moved.leaf_index = (i + 1) % n as u32;
				if n > 1 {
					assert!(!verify(&root, &batch[i as usize], &moved), "wrong index {i} of {n}");
				}
			}
			assert_eq!(inclusion_proof(&batch, n as u32), None);
		}
	}

	#[test]
	fn the_root_depends_on_order_and_content() {
		let batch = envelopes(4);
		let mut swapped = batch.clone();
		swapped.swap(0, 1);
		assert_ne!(batch_root(&batch), batch_root(&swapped));
		assert_ne!(batch_root(&batch), batch_root(&batch[..3]));
	}

	#[test]
	fn overlong_proofs_are_refused() {
		let batch = envelopes(2);
		let mut proof = inclusion_proof(&batch, 0).expect("in range");
		proof.siblings.resize(MAX_PROOF_DEPTH + 1, H256::zero());
		assert!(!verify(&batch_root(&batch), &batch[0], &proof));
	}
}
