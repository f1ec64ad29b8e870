//! # Quarks Keys Pallet
//!
//! Accounts publish the X25519 public key others encrypt to. Keys have versions and an
//! expiry block on chain, so anyone can tell which key of an account was valid at any
//! block — what a recipient checks before trusting a message, and what an auditor checks
//! later.
//!
//! Accounts also bind their devices: each device's MLS signature key (its credential in
//! conversations) is bound to one account by a transaction the account signs, with the
//! device's own signature proving it holds the key, and carries one published key
//! package with an expiry. "Was device D bound to A at block N" is answerable as long as
//! an anchor may need it.
//!
//! ## Terminology
//!
//! - **Version**: the n-th key an account published; the first is version 1.
//! - **Valid**: a version is valid from the block it was published until its expiry, its
//!   revocation, or the publication of the next version, whichever comes first. At most
//!   one version of an account is valid at any block (see [`KeyRecord`]).
//! - **History**: the last [`Config::MaxKeyVersions`] versions are kept. When the history
//!   is full, publishing drops the oldest version, which must have ended at least
//!   [`Config::KeptAfterEnd`] blocks ago: every anchor made while it was valid has been
//!   pruned by then, so no record an anchor in state may need is ever dropped.
//!
//! ## Calls
//!
//! By any signed account, for its own keys:
//! - [`Pallet::publish_key`]: publish a first key, or rotate to a new version.
//! - [`Pallet::revoke_key`]: end the valid version early.
//! - [`Pallet::add_device`]: bind a device and publish its key package.
//! - [`Pallet::publish_key_package`]: replace a device's key package.
//! - [`Pallet::remove_device`]: unbind a device from this block on.
//!
//! ## Queries
//!
//! View functions [`Pallet::key_at`] ("which key of A was valid at block N"),
//! [`Pallet::current_key`], [`Pallet::device_at`] ("was device D bound to A at block N")
//! and [`Pallet::key_package`]; other pallets use [`KeyInspect`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
use quarks_primitives::is_low_order_x25519;
pub use quarks_primitives::{
	DeviceKey, DeviceRecord, EncryptionKey, KeyInspect, KeyPackageRecord, KeyRecord, KeyVersion,
	DEVICE_PROOF_TAG,
};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use codec::Encode;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_runtime::{
		traits::{Saturating, Zero},
		TryRuntimeError,
	};

	/// A key record as stored for a runtime.
	pub type KeyRecordOf<T> = KeyRecord<BlockNumberFor<T>>;

	/// A device record as stored for a runtime.
	pub type DeviceRecordOf<T> = DeviceRecord<BlockNumberFor<T>>;

	/// A key package as a call carries it: bounded before it is decoded.
	pub type KeyPackageOf<T> = BoundedVec<u8, <T as Config>::MaxKeyPackageLen>;

	/// A key package record as stored for a runtime.
	pub type KeyPackageRecordOf<T> = KeyPackageRecord<KeyPackageOf<T>, BlockNumberFor<T>>;

	/// A device's Ed25519 signature over [`DEVICE_PROOF_TAG`] and its account.
	pub type DeviceProof = [u8; 64];

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Versions kept per account.
		#[pallet::constant]
		type MaxKeyVersions: Get<u32>;

		/// Longest time, in blocks, a key may be published for.
		#[pallet::constant]
		type MaxKeyLifetime: Get<BlockNumberFor<Self>>;

		/// Blocks an ended version stays in the history: at least as long as anything
		/// checked against it (anchors) stays in state.
		#[pallet::constant]
		type KeptAfterEnd: Get<BlockNumberFor<Self>>;

		/// Device records kept per account, removed ones included until `KeptAfterEnd`
		/// blocks after their removal.
		#[pallet::constant]
		type MaxDevices: Get<u32>;

		/// Longest key package, in bytes.
		#[pallet::constant]
		type MaxKeyPackageLen: Get<u32>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// The kept key versions of each account, oldest first.
	#[pallet::storage]
	pub type Keys<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<KeyRecordOf<T>, T::MaxKeyVersions>,
		ValueQuery,
	>;

	/// The devices each account bound, oldest first.
	#[pallet::storage]
	pub type Devices<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<DeviceRecordOf<T>, T::MaxDevices>,
		ValueQuery,
	>;

	/// The account each device key is bound to (for as long as its record is kept): a key
	/// belongs to one account only.
	#[pallet::storage]
	pub type DeviceOwner<T: Config> = StorageMap<_, Blake2_128Concat, DeviceKey, T::AccountId>;

	/// The key package of each bound device.
	#[pallet::storage]
	pub type KeyPackages<T: Config> =
		StorageMap<_, Blake2_128Concat, DeviceKey, KeyPackageRecordOf<T>>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Keys valid from genesis, as version 1: account, X25519 key, expiry block.
		pub keys: Vec<(T::AccountId, EncryptionKey, BlockNumberFor<T>)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (who, key, expires_at) in &self.keys {
				assert!(!is_low_order_x25519(key), "genesis key of {who:?} is a low-order point");
				assert!(!expires_at.is_zero(), "genesis key of {who:?} expires at genesis");
				assert!(!Keys::<T>::contains_key(who), "{who:?} has two genesis keys");
				let record = KeyRecord {
					version: 1,
					key: *key,
					valid_from: Zero::zero(),
					valid_until: *expires_at,
					expires_at: *expires_at,
					revoked: false,
				};
				Keys::<T>::insert(who, BoundedVec::truncate_from(alloc::vec![record]));
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An account published a key version; any earlier version stopped being valid.
		KeyPublished {
			/// The account.
			who: T::AccountId,
			/// The new version.
			version: KeyVersion,
			/// The X25519 public key.
			key: EncryptionKey,
			/// First block at which it is valid.
			valid_from: BlockNumberFor<T>,
			/// Block at which it expires.
			expires_at: BlockNumberFor<T>,
		},
		/// An account revoked its valid key version.
		KeyRevoked {
			/// The account.
			who: T::AccountId,
			/// The revoked version.
			version: KeyVersion,
		},
		/// An account bound a device.
		DeviceAdded {
			/// The account.
			who: T::AccountId,
			/// The device's signature key.
			device: DeviceKey,
		},
		/// A device published a key package.
		KeyPackagePublished {
			/// The device's signature key.
			device: DeviceKey,
			/// Block at which the package expires.
			expires_at: BlockNumberFor<T>,
		},
		/// An account removed a device; its credential is not valid from this block on.
		DeviceRemoved {
			/// The account.
			who: T::AccountId,
			/// The device's signature key.
			device: DeviceKey,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The key is a low-order X25519 point (all zeroes among them): a secret shared with
		/// it would not be secret.
		InvalidKey,
		/// The expiry is not after the current block.
		ExpiryInPast,
		/// The expiry is further away than `MaxKeyLifetime`.
		LifetimeTooLong,
		/// This key was already published by the account; a rotation needs a fresh key.
		KeyReused,
		/// The history is full and its oldest version is still valid, or ended less than
		/// `KeptAfterEnd` blocks ago.
		TooManyKeyVersions,
		/// The account has no valid key to revoke.
		NoValidKey,
		/// The given version is not the account's valid one.
		NotValidVersion,
		/// The device key is bound to an account already (or was, recently enough that
		/// anchors may still need the record).
		DeviceKeyTaken,
		/// The proof is not the device key's signature over the tag and the caller.
		BadDeviceProof,
		/// The account's device records are full and none was removed long enough ago to
		/// be dropped.
		TooManyDevices,
		/// The caller has no bound device with this key.
		NoSuchDevice,
		/// A key package must not be empty.
		EmptyKeyPackage,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxKeyVersions::get() >= 2, "MaxKeyVersions must allow a rotation");
			assert!(
				T::MaxKeyLifetime::get() > BlockNumberFor::<T>::zero(),
				"MaxKeyLifetime must be positive"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Publish `key` as the caller's next key version, valid from this block until
		/// `expires_at` (exclusive). The previously valid version, if any, ends now.
		///
		/// The origin must be signed. `expires_at` must be after the current block and at
		/// most `MaxKeyLifetime` ahead; `key` must not be a low-order point nor a key the account
		/// published before. Emits [`Event::KeyPublished`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::publish_key())]
		pub fn publish_key(
			origin: OriginFor<T>,
			key: EncryptionKey,
			expires_at: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();

			ensure!(!is_low_order_x25519(&key), Error::<T>::InvalidKey);
			Self::ensure_expiry(expires_at, now)?;
			let mut history = Keys::<T>::get(&who);
			ensure!(history.iter().all(|r| r.key != key), Error::<T>::KeyReused);
			let version = history.last().map_or(1, |r| r.version.saturating_add(1));
			if history.is_full() {
				let kept_until =
					|r: &KeyRecordOf<T>| r.valid_until.saturating_add(T::KeptAfterEnd::get());
				let oldest_unneeded =
					history.first().is_some_and(|r| !r.is_valid_at(&now) && kept_until(r) <= now);
				ensure!(oldest_unneeded, Error::<T>::TooManyKeyVersions);
				history.remove(0);
			}

			if let Some(current) = history.last_mut() {
				if current.is_valid_at(&now) {
					current.valid_until = now;
				}
			}
			let record = KeyRecord {
				version,
				key,
				valid_from: now,
				valid_until: expires_at,
				expires_at,
				revoked: false,
			};
			history.try_push(record).map_err(|_| Error::<T>::TooManyKeyVersions)?;
			Keys::<T>::insert(&who, history);

			Self::deposit_event(Event::KeyPublished {
				who,
				version,
				key,
				valid_from: now,
				expires_at,
			});
			Ok(())
		}

		/// Revoke the caller's valid key `version`: it stops being valid at this block.
		///
		/// The origin must be signed and `version` must be its valid version (naming it
		/// guards against revoking a newer key by mistake). Emits [`Event::KeyRevoked`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::revoke_key())]
		pub fn revoke_key(origin: OriginFor<T>, version: KeyVersion) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();

			let mut history = Keys::<T>::get(&who);
			let current = history
				.iter_mut()
				.rev()
				.find(|r| r.is_valid_at(&now))
				.ok_or(Error::<T>::NoValidKey)?;
			ensure!(current.version == version, Error::<T>::NotValidVersion);

			current.valid_until = now;
			current.revoked = true;
			Keys::<T>::insert(&who, history);

			Self::deposit_event(Event::KeyRevoked { who, version });
			Ok(())
		}

		/// Bind `device` to the caller and publish its `key_package`, valid until
		/// `expires_at` (exclusive).
		///
		/// The origin must be signed. `proof` is the device key's Ed25519 signature over
		/// [`DEVICE_PROOF_TAG`] followed by the SCALE-encoded caller, so no account can
		/// bind a key it does not hold. The key must not be bound to any account; when the
		/// caller's records are full, its oldest record removed at least `KeptAfterEnd`
		/// blocks ago is dropped. Emits [`Event::DeviceAdded`] and
		/// [`Event::KeyPackagePublished`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::add_device())]
		pub fn add_device(
			origin: OriginFor<T>,
			device: DeviceKey,
			proof: DeviceProof,
			key_package: KeyPackageOf<T>,
			expires_at: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();

			Self::ensure_key_package(&key_package, expires_at, now)?;
			ensure!(!DeviceOwner::<T>::contains_key(device), Error::<T>::DeviceKeyTaken);
			let mut message = DEVICE_PROOF_TAG.to_vec();
			who.encode_to(&mut message);
			ensure!(
				sp_io::crypto::ed25519_verify(
					&sp_core::ed25519::Signature::from_raw(proof),
					&message,
					&sp_core::ed25519::Public::from_raw(device),
				),
				Error::<T>::BadDeviceProof
			);
			let mut devices = Devices::<T>::get(&who);
			let dropped = if devices.is_full() {
				let index = devices
					.iter()
					.position(|r| {
						r.removed.is_some_and(|removed| {
							removed.saturating_add(T::KeptAfterEnd::get()) <= now
						})
					})
					.ok_or(Error::<T>::TooManyDevices)?;
				Some(devices.remove(index).key)
			} else {
				None
			};
			devices
				.try_push(DeviceRecord { key: device, added: now, removed: None })
				.map_err(|_| Error::<T>::TooManyDevices)?;

			if let Some(dropped) = dropped {
				DeviceOwner::<T>::remove(dropped);
			}
			Devices::<T>::insert(&who, devices);
			DeviceOwner::<T>::insert(device, &who);
			KeyPackages::<T>::insert(device, KeyPackageRecord { package: key_package, expires_at });
			Self::deposit_event(Event::DeviceAdded { who, device });
			Self::deposit_event(Event::KeyPackagePublished { device, expires_at });
			Ok(())
		}

		/// Replace the key package of the caller's bound `device`.
		///
		/// The origin must be signed and `device` one of its bound devices; the package
		/// must not be empty and `expires_at` must be after this block and at most
		/// `MaxKeyLifetime` ahead. Emits [`Event::KeyPackagePublished`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::publish_key_package())]
		pub fn publish_key_package(
			origin: OriginFor<T>,
			device: DeviceKey,
			key_package: KeyPackageOf<T>,
			expires_at: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();

			Self::ensure_key_package(&key_package, expires_at, now)?;
			ensure!(
				Devices::<T>::get(&who).iter().any(|r| r.key == device && r.removed.is_none()),
				Error::<T>::NoSuchDevice
			);
			KeyPackages::<T>::insert(device, KeyPackageRecord { package: key_package, expires_at });
			Self::deposit_event(Event::KeyPackagePublished { device, expires_at });
			Ok(())
		}

		/// Unbind the caller's `device` from this block on and drop its key package. Its
		/// record stays `KeptAfterEnd` blocks, for anchors it made.
		///
		/// The origin must be signed and `device` one of its bound devices. Emits
		/// [`Event::DeviceRemoved`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::remove_device())]
		pub fn remove_device(origin: OriginFor<T>, device: DeviceKey) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();

			let mut devices = Devices::<T>::get(&who);
			let record = devices
				.iter_mut()
				.find(|r| r.key == device && r.removed.is_none())
				.ok_or(Error::<T>::NoSuchDevice)?;
			record.removed = Some(now);

			Devices::<T>::insert(&who, devices);
			KeyPackages::<T>::remove(device);
			Self::deposit_event(Event::DeviceRemoved { who, device });
			Ok(())
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The key version of `who` that was valid at block `at`, if it is still kept.
		pub fn key_at(who: T::AccountId, at: BlockNumberFor<T>) -> Option<KeyRecordOf<T>> {
			Keys::<T>::get(&who).into_iter().rev().find(|r| r.is_valid_at(&at))
		}

		/// The key version of `who` valid now, if any.
		pub fn current_key(who: T::AccountId) -> Option<KeyRecordOf<T>> {
			Self::key_at(who, frame_system::Pallet::<T>::block_number())
		}

		/// The record of `device` if it was bound to `who` at block `at` and is still kept.
		pub fn device_at(
			who: T::AccountId,
			device: DeviceKey,
			at: BlockNumberFor<T>,
		) -> Option<DeviceRecordOf<T>> {
			Devices::<T>::get(&who).into_iter().find(|r| r.key == device && r.is_bound_at(&at))
		}

		/// The key package of a bound `device`, if it has not expired.
		pub fn key_package(device: DeviceKey) -> Option<KeyPackageRecordOf<T>> {
			let now = frame_system::Pallet::<T>::block_number();
			KeyPackages::<T>::get(device).filter(|r| r.expires_at > now)
		}
	}

	impl<T: Config> KeyInspect<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
		fn valid_key(who: &T::AccountId) -> Option<KeyVersion> {
			Self::current_key(who.clone()).map(|r| r.version)
		}
	}

	impl<T: Config> Pallet<T> {
		fn ensure_key_package(
			key_package: &KeyPackageOf<T>,
			expires_at: BlockNumberFor<T>,
			now: BlockNumberFor<T>,
		) -> DispatchResult {
			ensure!(!key_package.is_empty(), Error::<T>::EmptyKeyPackage);
			Self::ensure_expiry(expires_at, now)
		}

		/// Keys and key packages expire after this block and at most `MaxKeyLifetime` ahead.
		fn ensure_expiry(expires_at: BlockNumberFor<T>, now: BlockNumberFor<T>) -> DispatchResult {
			ensure!(expires_at > now, Error::<T>::ExpiryInPast);
			ensure!(
				expires_at <= now.saturating_add(T::MaxKeyLifetime::get()),
				Error::<T>::LifetimeTooLong
			);
			Ok(())
		}

		/// Invariants: per account, versions strictly increase, validity windows are
		/// ordered and disjoint, no window outlives its expiry, and keys are distinct;
		/// device owners and records match one to one, and only bound devices have key
		/// packages.
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
			for (_, history) in Keys::<T>::iter() {
				for pair in history.windows(2) {
					let (a, b) = (&pair[0], &pair[1]);
					ensure!(a.version < b.version, "key versions must increase");
					ensure!(a.valid_until <= b.valid_from, "validity windows must not overlap");
					ensure!(a.key != b.key, "consecutive versions must differ");
				}
				for r in history.iter() {
					ensure!(
						r.valid_from <= r.valid_until,
						"a window must not end before it starts"
					);
					ensure!(r.valid_until <= r.expires_at, "a key must not outlive its expiry");
				}
			}
			let mut records = 0usize;
			for (who, devices) in Devices::<T>::iter() {
				for r in devices.iter() {
					records = records.saturating_add(1);
					ensure!(
						DeviceOwner::<T>::get(r.key).as_ref() == Some(&who),
						"a kept device record must name its owner"
					);
					ensure!(
						r.removed.is_none_or(|removed| r.added <= removed),
						"removed before added"
					);
					ensure!(
						r.removed.is_none() || !KeyPackages::<T>::contains_key(r.key),
						"a removed device keeps no key package"
					);
				}
			}
			ensure!(DeviceOwner::<T>::iter().count() == records, "every owner entry has a record");
			for (device, _) in KeyPackages::<T>::iter() {
				ensure!(
					DeviceOwner::<T>::contains_key(device),
					"a key package of an unbound device"
				);
			}
			Ok(())
		}
	}
}
