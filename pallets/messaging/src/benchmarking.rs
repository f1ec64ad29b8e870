//! Benchmarks of the messaging pallet, each call at its worst case.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{Get, Hooks},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use quarks_primitives::merkle;
use sp_core::H256;
use sp_runtime::traits::Saturating;

fn h256(n: u64) -> H256 {
	let mut bytes = [0u8; 32];
	bytes[24..].copy_from_slice(&n.to_be_bytes());
	H256(bytes)
}

fn parties<T: Config>() -> (T::AccountId, T::AccountId) {
	let sender: T::AccountId = whitelisted_caller();
	let recipient: T::AccountId = account("recipient", 0, 0);
	T::BenchmarkHelper::setup_sender_and_recipient(&sender, &recipient);
	(sender, recipient)
}

/// The leaves of a full batch to `recipient`, anchored by `sender`: the deepest proofs.
fn anchored_batch<T: Config>(
	sender: &T::AccountId,
	recipient: &T::AccountId,
) -> (H256, Vec<AnchorLeaf<T::AccountId>>, Vec<H256>) {
	let leaves: Vec<AnchorLeaf<T::AccountId>> = (0..T::MaxBatchSize::get())
		.map(|i| AnchorLeaf {
			envelope: h256(i as u64 + 1),
			destination: Destination::Direct(recipient.clone()),
			size_class: 0,
		})
		.collect();
	let values: Vec<H256> = leaves.iter().map(|leaf| leaf.value()).collect();
	let root = merkle::batch_root(&values);
	Pallet::<T>::anchor(RawOrigin::Signed(sender.clone()).into(), root, values.len() as u32)
		.expect("benchmark setup anchors a batch");
	(root, leaves, values)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn anchor() {
		let (sender, _) = parties::<T>();
		let root = H256::repeat_byte(0xAB);

		#[extrinsic_call]
		_(RawOrigin::Signed(sender.clone()), root, T::MaxBatchSize::get());

		assert!(Anchors::<T>::contains_key(&sender, root));
	}

	#[benchmark]
	fn acknowledge(n: Linear<1, { T::MaxReceiptBatch::get() }>) {
		let (sender, recipient) = parties::<T>();
		let (root, leaves, values) = anchored_batch::<T>(&sender, &recipient);
		let record = Anchors::<T>::get(&sender, root).expect("anchored");
		// Each receipt names the last of the recipient's hosts: the longest check.
		let host = T::BenchmarkHelper::choose_hosts(&recipient);
		// The last leaves have the longest proofs, and each item names another sender's
		// anchor of the same root: one anchor read per item, the worst case.
		let items: Vec<ReceiptItem<T::AccountId>> = (0..n)
			.map(|i| {
				let index = (values.len() as u32).saturating_sub(i.saturating_add(1));
				let sender: T::AccountId = account("sender", i, 0);
				Anchors::<T>::insert(&sender, root, record.clone());
				ReceiptItem {
					sender,
					root,
					leaf: leaves[index as usize].clone(),
					proof: merkle::inclusion_proof(&values, index).expect("index in range"),
					host: Some(host.clone()),
				}
			})
			.collect();
		let items = BoundedVec::truncate_from(items);
		frame_system::Pallet::<T>::set_block_number(2u32.into());

		#[extrinsic_call]
		_(RawOrigin::Signed(recipient.clone()), items);

		assert!(ReceiptsAt::<T>::contains_key(BlockNumberFor::<T>::from(2u32), &recipient));
	}

	#[benchmark]
	fn prune(
		a: Linear<0, { T::MaxAnchorsPerBlock::get() }>,
		r: Linear<0, { T::MaxReceiptsPerBlock::get() }>,
	) {
		let recorded: BlockNumberFor<T> = 1u32.into();
		for i in 0..a {
			let sender: T::AccountId = account("sender", i, 0);
			AnchorsAt::<T>::insert(recorded, &sender, h256(i as u64));
			Anchors::<T>::insert(
				&sender,
				h256(i as u64),
				AnchorRecord { count: 1, anchored_at: recorded },
			);
		}
		// Receipts in full batches, one recipient each, as they are recorded.
		let batch = T::MaxReceiptBatch::get().max(1);
		for start in (0..r).step_by(batch as usize) {
			let who: T::AccountId = account("recipient", start, 0);
			let envelopes: Vec<H256> =
				(start..r.min(start.saturating_add(batch))).map(|i| h256(i as u64)).collect();
			for envelope in &envelopes {
				Receipts::<T>::insert(envelope, &who, recorded);
			}
			ReceiptsAt::<T>::insert(recorded, &who, BoundedVec::truncate_from(envelopes));
		}
		let now = recorded.saturating_add(T::Retention::get());

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		assert_eq!(AnchorsAt::<T>::iter_prefix(recorded).count(), 0);
		assert_eq!(ReceiptsAt::<T>::iter_prefix(recorded).count(), 0);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
