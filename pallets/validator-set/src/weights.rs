//! Weights for `pallet_validator_set`.
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

/// Weight functions needed for `pallet_validator_set`.
pub trait WeightInfo {
	fn add_validator(v: u32, ) -> Weight;
	fn remove_validator(v: u32, ) -> Weight;
	fn schedule_deferred_finality_change(v: u32, ) -> Weight;
}

/// Weights for `pallet_validator_set` on the Quarks reference hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `ValidatorSet::Validators` (r:1 w:1), `Aura::Authorities` (r:0 w:1),
	/// `Grandpa::PendingChange` (r:1 w:1), `ValidatorSet::FinalityChangeDeferred` (r:0 w:1)
	fn add_validator(v: u32, ) -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(Weight::from_parts(400_000, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 200).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	/// Storage: `ValidatorSet::Validators` (r:1 w:1), `Aura::Authorities` (r:0 w:1),
	/// `Grandpa::PendingChange` (r:1 w:1), `ValidatorSet::FinalityChangeDeferred` (r:0 w:1)
	fn remove_validator(v: u32, ) -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(Weight::from_parts(400_000, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 200).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	/// Storage: `ValidatorSet::FinalityChangeDeferred` (r:1 w:1), `ValidatorSet::Validators` (r:1 w:0),
	/// `Grandpa::PendingChange` (r:1 w:1)
	fn schedule_deferred_finality_change(v: u32, ) -> Weight {
		Weight::from_parts(30_000_000, 4_000)
			.saturating_add(Weight::from_parts(300_000, 0).saturating_mul(v.into()))
			.saturating_add(Weight::from_parts(0, 200).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn add_validator(v: u32, ) -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(Weight::from_parts(400_000, 0).saturating_mul(v.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn remove_validator(v: u32, ) -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(Weight::from_parts(400_000, 0).saturating_mul(v.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn schedule_deferred_finality_change(v: u32, ) -> Weight {
		Weight::from_parts(30_000_000, 4_000)
			.saturating_add(Weight::from_parts(300_000, 0).saturating_mul(v.into()))
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
}
