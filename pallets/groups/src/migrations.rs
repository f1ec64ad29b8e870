//! Storage migrations of the groups pallet.

/// Version 1: a commit record says where the commit's message is and what it welcomes.
pub mod v1 {
	use crate::{Commits, Config, Pallet};
	use codec::{Decode, Encode};
	use core::marker::PhantomData;
	use frame_support::{
		migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
	};
	use frame_system::pallet_prelude::BlockNumberFor;
	use quarks_primitives::{groups::CommitRecord, Epoch};
	use sp_core::H256;
	#[cfg(feature = "try-runtime")]
	use {alloc::vec::Vec, sp_runtime::TryRuntimeError};

	/// A commit record as version 0 kept it: only hashes, the message travelling as mail.
	#[derive(Encode, Decode)]
	pub struct CommitRecordV0<AccountId, BlockNumber> {
		/// The commit's hash.
		pub commit: H256,
		/// The roster's hash.
		pub roster: H256,
		/// The member who committed.
		pub committer: AccountId,
		/// The epoch whose member set holds for this one.
		pub members_since: Epoch,
		/// The block that recorded it.
		pub at: BlockNumber,
	}

	/// Rewrites every kept record. A version-0 commit's message is in no block body, so
	/// its record names none (size 0) and no authenticator: a client that still needs it
	/// cannot apply it and restarts the group, as for any commit that does not apply.
	/// One pass over every group's records (at most `MaxKeptCommits` each), in the upgrade's
	/// block: enough while groups number in the tens of thousands; a larger chain would
	/// need a multi-block migration.
	pub struct InnerMigrateV0ToV1<T>(PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut records = 0u64;
			Commits::<T>::translate::<CommitRecordV0<T::AccountId, BlockNumberFor<T>>, _>(
				|_, epoch, old| {
					records = records.saturating_add(1);
					Some(CommitRecord {
						commit: old.commit,
						size: 0,
						roster: old.roster,
						welcome: None,
						// A first commit started its group, as a restart does now.
						restart: epoch == 1,
						authenticator: H256::zero(),
						committer: old.committer,
						members_since: old.members_since,
						at: old.at,
						extrinsic: 0,
					})
				},
			);
			T::DbWeight::get().reads_writes(records, records)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, TryRuntimeError> {
			let records = Commits::<T>::iter_keys().count() as u64;
			Ok(records.encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), TryRuntimeError> {
			let before = u64::decode(&mut &state[..])
				.map_err(|_| TryRuntimeError::Other("pre_upgrade state"))?;
			let after = Commits::<T>::iter_values().count() as u64;
			ensure!(before == after, "a commit record did not decode after the migration");
			Pallet::<T>::do_try_state()
		}
	}

	/// [`InnerMigrateV0ToV1`], run only on a version-0 pallet, which it sets to 1.
	pub type MigrateV0ToV1<T> = VersionedMigration<
		0,
		1,
		InnerMigrateV0ToV1<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
