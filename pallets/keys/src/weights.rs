//! Weights for `pallet_quarks_keys`.
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

/// Weight functions needed for `pallet_quarks_keys`.
pub trait WeightInfo {
	fn publish_key() -> Weight;
	fn revoke_key() -> Weight;
}

/// Weights for `pallet_quarks_keys` on the Quarks reference hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Keys::Keys` (r:1 w:1), proof: `MaxEncodedLen` of a full history.
	fn publish_key() -> Weight {
		Weight::from_parts(30_000_000, 1_500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Keys::Keys` (r:1 w:1)
	fn revoke_key() -> Weight {
		Weight::from_parts(25_000_000, 1_500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn publish_key() -> Weight {
		Weight::from_parts(30_000_000, 1_500)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn revoke_key() -> Weight {
		Weight::from_parts(25_000_000, 1_500)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
}
