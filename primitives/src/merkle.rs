//! The one Merkle tree anchors commit to; the runtime verifies with it and the client
//! builds with it.
//!
//! A sender anchors a batch of envelopes by the root over their leaves. A leaf binds one
//! envelope to its destination and size class ([`AnchorLeaf`]), so receipts, hosts and
//! audits work per leaf without the envelope's bytes. The tree is `binary-merkle-tree`
//! over BLAKE2-256: it hashes each 32-byte leaf value once more, so a leaf (hash of 32
//! bytes) can never pass for an inner node (hash of 64 bytes).

use crate::{Destination, SizeClass};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::traits::{BlakeTwo256, Hash};

/// Deepest proof accepted: enough for 2^32 leaves.
pub const MAX_PROOF_DEPTH: usize = 32;

/// What one leaf of an anchor says: envelope `envelope` goes to `destination` in size
/// class `size_class`. Its value in the tree is BLAKE2-256 of its SCALE encoding.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
pub struct AnchorLeaf<AccountId> {
	/// The envelope hash.
	pub envelope: H256,
	/// Where it goes.
	pub destination: Destination<AccountId>,
	/// Its padded size class.
	pub size_class: SizeClass,
}

impl<AccountId: Encode> AnchorLeaf<AccountId> {
	/// The leaf's value in the tree.
	pub fn value(&self) -> H256 {
		BlakeTwo256::hash_of(self)
	}
}

/// Proof that a leaf is leaf `leaf_index` of a batch of `leaf_count` leaves.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct InclusionProof {
	/// Position of the leaf in the batch.
	pub leaf_index: u32,
	/// Number of leaves in the batch.
	pub leaf_count: u32,
	/// Sibling hashes from the leaf up to the root.
	pub siblings: Vec<H256>,
}

/// The root committing to `leaves` (leaf values), in order.
pub fn batch_root(leaves: &[H256]) -> H256 {
	binary_merkle_tree::merkle_root::<BlakeTwo256, _>(leaves.iter().map(|h| h.0))
}

/// The root of a batch of one: what a single envelope is anchored under.
pub fn single_root(leaf: &H256) -> H256 {
	batch_root(core::slice::from_ref(leaf))
}

/// The proof of a batch of one.
pub fn single_proof() -> InclusionProof {
	InclusionProof { leaf_index: 0, leaf_count: 1, siblings: Vec::new() }
}

/// The proof for `leaves[index]`, or `None` when `index` is out of range.
pub fn inclusion_proof(leaves: &[H256], index: u32) -> Option<InclusionProof> {
	if index as usize >= leaves.len() {
		return None;
	}
	let proof =
		binary_merkle_tree::merkle_proof::<BlakeTwo256, _, _>(leaves.iter().map(|h| h.0), index);
	Some(InclusionProof {
		leaf_index: proof.leaf_index,
		leaf_count: proof.number_of_leaves,
		siblings: proof.proof,
	})
}

/// Whether `proof` shows leaf value `leaf` under `root`.
pub fn verify(root: &H256, leaf: &H256, proof: &InclusionProof) -> bool {
	proof.siblings.len() <= MAX_PROOF_DEPTH
		&& binary_merkle_tree::verify_proof::<BlakeTwo256, _, _>(
			root,
			proof.siblings.iter().copied(),
			proof.leaf_count,
			proof.leaf_index,
			&leaf.0,
		)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn leaves(n: u8) -> Vec<H256> {
		(0..n).map(H256::repeat_byte).collect()
	}

	#[test]
	fn every_leaf_verifies_and_nothing_else_does() {
		for n in [1u8, 2, 3, 7, 8, 33] {
			let batch = leaves(n);
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
	fn a_batch_of_one_is_its_single_root_and_empty_proof() {
		let leaf = H256::repeat_byte(7);
		assert_eq!(single_root(&leaf), batch_root(&[leaf]));
		assert_eq!(inclusion_proof(&[leaf], 0), Some(single_proof()));
		assert!(verify(&single_root(&leaf), &leaf, &single_proof()));
	}

	#[test]
	fn the_root_depends_on_order_and_content() {
		let batch = leaves(4);
		let mut swapped = batch.clone();
		swapped.swap(0, 1);
		assert_ne!(batch_root(&batch), batch_root(&swapped));
		assert_ne!(batch_root(&batch), batch_root(&batch[..3]));
	}

	#[test]
	fn a_leaf_binds_its_destination_and_class() {
		let leaf = |destination, size_class| {
			AnchorLeaf::<[u8; 32]> { envelope: H256::repeat_byte(1), destination, size_class }
				.value()
		};
		let to_bob = leaf(Destination::Direct([2; 32]), 0);
		assert_ne!(to_bob, leaf(Destination::Direct([3; 32]), 0));
		assert_ne!(to_bob, leaf(Destination::Group { group: 0, epoch: 1 }, 0));
		assert_ne!(to_bob, leaf(Destination::Direct([2; 32]), 1));
	}

	#[test]
	fn overlong_proofs_are_refused() {
		let batch = leaves(2);
		let mut proof = inclusion_proof(&batch, 0).expect("in range");
		proof.siblings.resize(MAX_PROOF_DEPTH + 1, H256::zero());
		assert!(!verify(&batch_root(&batch), &batch[0], &proof));
	}
}
