//! Weights for `pallet_quarks_bounties`: placeholders until `scripts/benchmark.sh
//! pallet_quarks_bounties` writes them.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_quarks_bounties`.
pub trait WeightInfo {
	fn offer() -> Weight;
	fn pay() -> Weight;
	fn expire(n: u32, ) -> Weight;
}

/// Weights for `pallet_quarks_bounties` on the machine named above.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn offer() -> Weight {
		Weight::from_parts(50_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	fn pay() -> Weight {
		Weight::from_parts(50_000_000, 6000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(5_u64))
	}
	fn expire(n: u32, ) -> Weight {
		Weight::from_parts(5_000_000, 1500)
			.saturating_add(Weight::from_parts(40_000_000, 6000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().reads((3_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes((4_u64).saturating_mul(n.into())))
	}
}

// For tests: the same with RocksDB's weights.
impl WeightInfo for () {
	fn offer() -> Weight {
		Weight::from_parts(50_000_000, 6000)
	}
	fn pay() -> Weight {
		Weight::from_parts(50_000_000, 6000)
	}
	fn expire(n: u32, ) -> Weight {
		Weight::from_parts(40_000_000, 6000).saturating_mul(n.into())
	}
}
