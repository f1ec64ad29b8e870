//! Types of the validator set and the trait through which it drives consensus.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{traits::Get, BoundedVec};
use scale_info::TypeInfo;
use sp_runtime::DispatchResult;

/// A validator: its account and its consensus keys.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Validator<AccountId, AuraId, GrandpaId> {
	/// The account that operates the validator.
	pub account: AccountId,
	/// Block-authoring key.
	pub aura: AuraId,
	/// Finality-voting key.
	pub grandpa: GrandpaId,
}

/// The validator record as stored for a runtime.
pub type ValidatorOf<T> = Validator<
	<T as frame_system::Config>::AccountId,
	<T as crate::Config>::AuraId,
	<T as crate::Config>::GrandpaId,
>;

/// The consensus authorities a validator set drives.
pub trait AuthoritySet<AuraId, GrandpaId> {
	/// Most authorities the consensus pallets accept.
	fn max_authorities() -> u32;
	/// The current block authors, in slot order.
	fn block_authors() -> Vec<AuraId>;
	/// Replace the block authors from the next block on.
	fn set_block_authors(authors: Vec<AuraId>);
	/// Schedule `voters` as the next finality voter set. Fails, changing nothing, while
	/// another change is pending.
	fn schedule_finality_change(voters: Vec<GrandpaId>) -> DispatchResult;
	/// Force `voters` as the finality voter set once the block carrying the change is
	/// `delay` blocks deep in the best chain, finalized or not; they resume voting from
	/// `best_finalized`. Fails, changing nothing, while another change is pending or soon
	/// after the last forced one.
	fn force_finality_change(
		voters: Vec<GrandpaId>,
		delay: u32,
		best_finalized: u32,
	) -> DispatchResult;
}

/// [`AuthoritySet`] for `pallet-aura` (block production) and `pallet-grandpa` (finality).
pub struct AuraGrandpa<T>(core::marker::PhantomData<T>);

impl<T: pallet_aura::Config + pallet_grandpa::Config>
	AuthoritySet<T::AuthorityId, sp_consensus_grandpa::AuthorityId> for AuraGrandpa<T>
{
	fn max_authorities() -> u32 {
		<T as pallet_aura::Config>::MaxAuthorities::get()
			.min(<T as pallet_grandpa::Config>::MaxAuthorities::get())
	}

	fn block_authors() -> Vec<T::AuthorityId> {
		pallet_aura::Authorities::<T>::get().into_inner()
	}

	fn set_block_authors(authors: Vec<T::AuthorityId>) {
		// `integrity_test` proves `MaxValidators <= max_authorities()`: nothing is cut.
		pallet_aura::Pallet::<T>::change_authorities(BoundedVec::truncate_from(authors));
	}

	fn schedule_finality_change(voters: Vec<sp_consensus_grandpa::AuthorityId>) -> DispatchResult {
		// Equal weights; delay 0: enacted when the block carrying the change is finalised.
		let list = voters.into_iter().map(|id| (id, 1u64)).collect();
		pallet_grandpa::Pallet::<T>::schedule_change(list, 0u32.into(), None)?;
		next_set_id::<T>();
		Ok(())
	}

	fn force_finality_change(
		voters: Vec<sp_consensus_grandpa::AuthorityId>,
		delay: u32,
		best_finalized: u32,
	) -> DispatchResult {
		let list = voters.into_iter().map(|id| (id, 1u64)).collect();
		pallet_grandpa::Pallet::<T>::schedule_change(
			list,
			delay.into(),
			Some(best_finalized.into()),
		)?;
		next_set_id::<T>();
		Ok(())
	}
}

/// Counts a scheduled change as the next set, as `pallet-grandpa`'s session hook does (this
/// set bypasses sessions): the nodes' GRANDPA counts one set per change, signs with that id,
/// and clients read it through `GrandpaApi::current_set_id` to check justifications.
fn next_set_id<T: pallet_grandpa::Config>() {
	pallet_grandpa::CurrentSetId::<T>::mutate(|id| *id = id.saturating_add(1));
}

/// Makes distinct consensus keys for benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AuraId, GrandpaId> {
	/// Keys of the `i`-th benchmark validator; distinct `i` give distinct keys.
	fn keys(i: u32) -> (AuraId, GrandpaId);
}
