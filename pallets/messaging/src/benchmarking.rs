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

fn envelope(i: u32) -> H256 {
	h256(i as u64 + 1)
}

/// Fills this block's anchor list but for one slot, so the call pays for the full list.
fn fill_anchors<T: Config>(sender: &T::AccountId, recipient: &T::AccountId) {
	for i in 0..T::MaxAnchorsPerBlock::get().saturating_sub(1) {
		Pallet::<T>::anchor(
			RawOrigin::Signed(sender.clone()).into(),
			h256(u64::MAX - i as u64),
			Destination::Direct(recipient.clone()),
			0,
		)
		.expect("benchmark setup anchors");
	}
}

/// Anchors a batch of `MaxBatchSize` envelopes and returns them with their root.
fn anchored_batch<T: Config>(sender: &T::AccountId, recipient: &T::AccountId) -> (H256, Vec<H256>) {
	let batch: Vec<H256> = (0..T::MaxBatchSize::get()).map(envelope).collect();
	let root = merkle::batch_root(&batch);
	Pallet::<T>::anchor_batch(
		RawOrigin::Signed(sender.clone()).into(),
		root,
		batch.len() as u32,
		Destination::Direct(recipient.clone()),
		0,
	)
	.expect("benchmark setup anchors a batch");
	(root, batch)
}

fn parties<T: Config>() -> (T::AccountId, T::AccountId) {
	let sender: T::AccountId = whitelisted_caller();
	let recipient: T::AccountId = account("recipient", 0, 0);
	T::BenchmarkHelper::setup_sender_and_recipient(&sender, &recipient);
	(sender, recipient)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn anchor() {
		let (sender, recipient) = parties::<T>();
		fill_anchors::<T>(&sender, &recipient);

		#[extrinsic_call]
		_(RawOrigin::Signed(sender), envelope(0), Destination::Direct(recipient), 0);

		assert!(Anchors::<T>::contains_key(envelope(0)));
	}

	#[benchmark]
	fn anchor_batch() {
		let (sender, recipient) = parties::<T>();
		fill_anchors::<T>(&sender, &recipient);
		let root = H256::repeat_byte(0xAB);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(sender),
			root,
			T::MaxBatchSize::get(),
			Destination::Direct(recipient),
			0,
		);

		assert!(Anchors::<T>::contains_key(root));
	}

	#[benchmark]
	fn acknowledge() {
		let (sender, recipient) = parties::<T>();
		let (root, batch) = anchored_batch::<T>(&sender, &recipient);
		let last = T::MaxBatchSize::get().saturating_sub(1);
		let proof = merkle::inclusion_proof(&batch, last);

		#[extrinsic_call]
		_(RawOrigin::Signed(recipient.clone()), root, batch[last as usize], proof);

		assert!(Receipts::<T>::contains_key(batch[last as usize], &recipient));
	}

	#[benchmark]
	fn acknowledge_batch(n: Linear<1, { T::MaxReceiptBatch::get() }>) {
		let (sender, recipient) = parties::<T>();
		let (root, batch) = anchored_batch::<T>(&sender, &recipient);
		let items: Vec<ReceiptItem> = (0..n)
			.map(|i| ReceiptItem {
				anchor: root,
				envelope: batch[i as usize % batch.len()],
				proof: merkle::inclusion_proof(&batch, i % batch.len() as u32),
			})
			.collect();

		#[extrinsic_call]
		_(RawOrigin::Signed(recipient.clone()), items);

		assert!(Receipts::<T>::contains_key(batch[0], &recipient));
	}

	#[benchmark]
	fn prune(
		a: Linear<0, { T::MaxAnchorsPerBlock::get() }>,
		r: Linear<0, { T::MaxReceiptsPerBlock::get() }>,
	) {
		let recorded: BlockNumberFor<T> = 1u32.into();
		let anchors: Vec<H256> = (0..a).map(envelope).collect();
		let receipts: Vec<(H256, T::AccountId)> =
			(0..r).map(|i| (envelope(i), account("recipient", i, 0))).collect();
		AnchorsAt::<T>::insert(recorded, BoundedVec::truncate_from(anchors));
		ReceiptsAt::<T>::insert(recorded, BoundedVec::truncate_from(receipts));
		let now = recorded.saturating_add(T::Retention::get());

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		assert!(AnchorsAt::<T>::get(recorded).is_empty());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
