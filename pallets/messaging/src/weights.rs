//! Weights for `pallet_quarks_messaging`.
//!
//! PROVISIONAL: not yet generated. These figures count each call's storage accesses
//! and charge a conservative execution time; they are replaced by the output of
//! `quarks-node benchmark pallet` (node feature `runtime-benchmarks`) on reference
//! hardware, with the command recorded here.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_quarks_messaging`.
pub trait WeightInfo {
	fn anchor() -> Weight;
	fn anchor_batch() -> Weight;
	fn acknowledge() -> Weight;
	fn acknowledge_batch(n: u32, ) -> Weight;
	fn prune(a: u32, r: u32, ) -> Weight;
}

/// Weights for `pallet_quarks_messaging` on the Quarks reference hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Messaging::Anchors` (r:1 w:1), `Messaging::AnchorsAt` (r:1 w:1), `Keys::Keys` (r:2), `Groups::*` (r:2)
	fn anchor() -> Weight {
		Weight::from_parts(35_000_000, 2_000)
			.saturating_add(T::DbWeight::get().reads(6_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: as `anchor`
	fn anchor_batch() -> Weight {
		Weight::from_parts(35_000_000, 2_000)
			.saturating_add(T::DbWeight::get().reads(6_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `Messaging::Anchors` (r:1), `Messaging::Receipts` (r:1 w:1), `Messaging::ReceiptsAt` (r:1 w:1), `Groups::Rotations` (r:1)
	fn acknowledge() -> Weight {
		Weight::from_parts(45_000_000, 2_000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: per item as `acknowledge`, `Messaging::ReceiptsAt` (r:1 w:1) once
	fn acknowledge_batch(n: u32, ) -> Weight {
		Weight::from_parts(25_000_000, 2_000)
			.saturating_add(Weight::from_parts(40_000_000, 3_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads((3 * n as u64).into()))
			.saturating_add(T::DbWeight::get().writes(n.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Messaging::AnchorsAt` (r:1 w:1), `Messaging::ReceiptsAt` (r:1 w:1), `Messaging::Anchors` (w:a), `Messaging::Receipts` (w:r)
	fn prune(a: u32, r: u32, ) -> Weight {
		Weight::from_parts(5_000_000, 2_000)
			.saturating_add(Weight::from_parts(2_000_000, 0).saturating_mul(a.saturating_add(r).into()))
			.saturating_add(T::DbWeight::get().writes(a.saturating_add(r).into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn anchor() -> Weight {
		Weight::from_parts(35_000_000, 2_000)
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn anchor_batch() -> Weight {
		Weight::from_parts(35_000_000, 2_000)
			.saturating_add(RocksDbWeight::get().reads(6_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn acknowledge() -> Weight {
		Weight::from_parts(45_000_000, 2_000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn acknowledge_batch(n: u32, ) -> Weight {
		Weight::from_parts(25_000_000, 2_000)
			.saturating_add(Weight::from_parts(40_000_000, 3_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads((3 * n as u64).into()))
			.saturating_add(RocksDbWeight::get().writes(n.into()))
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn prune(a: u32, r: u32, ) -> Weight {
		Weight::from_parts(5_000_000, 2_000)
			.saturating_add(Weight::from_parts(2_000_000, 0).saturating_mul(a.saturating_add(r).into()))
			.saturating_add(RocksDbWeight::get().writes(a.saturating_add(r).into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
}
