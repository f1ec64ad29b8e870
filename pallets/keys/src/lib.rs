//! # Quarks Keys Pallet
//!
//! Accounts bind their devices: each device's MLS signature key (its credential in
//! conversations) is bound to one account by a transaction the account signs, with the
//! device's own signature proving it holds the key, and carries one published key package
//! with an expiry, through which others add the device to conversations. "Was device D
//! bound to A at block N" is answerable as long as an anchor may need it.
//!
//! ## Terminology
//!
//! - **Bound**: a device is bound to its account from the block it was added until the
//!   block it was removed (see [`DeviceRecord`]). An account with a bound device can send.
//! - **Kept**: a removed device's record stays [`Config::KeptAfterEnd`] blocks, as long as
//!   the anchors it signed letters for; after that, each change of the account's devices
//!   drops one such record, making room in its [`Config::MaxDevices`] records.
//! - **Key package**: a device's last-resort MLS key package (RFC 9420), with an expiry
//!   at most [`Config::MaxKeyLifetime`] ahead.
//! - **Deposit**: an account holds [`Config::Consideration`] for what its devices keep in
//!   state (each record, and each bound device's key package at its longest), so state
//!   is paid for by whoever creates it. Removing a device returns its key package's part
//!   at once, and its record's when the record is dropped. Devices bound at the genesis of
//!   a chain started at storage version 1 hold none until their account adds a device;
//!   those kept from before version 1 pay at the upgrade to it ([`migrations::v1`]), if
//!   their account can.
//!
//! ## Calls
//!
//! By any signed account, for its own devices:
//! - [`Pallet::add_device`]: bind a device and publish its key package.
//! - [`Pallet::publish_key_package`]: replace a device's key package.
//! - [`Pallet::remove_device`]: unbind a device from this block on.
//! - [`Pallet::drop_records`]: drop the records kept long enough, returning their deposit.
//!
//! ## Queries
//!
//! View functions [`Pallet::devices`] (the devices bound now), [`Pallet::device_at`] ("was
//! device D bound to A at block N") and [`Pallet::key_package`]; other pallets use
//! [`DeviceInspect`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
use quarks_primitives::{
	deposit::{held, map_entry, BLAKE2_128_CONCAT},
	device_proof_payload,
};
pub use quarks_primitives::{
	DeviceInspect, DeviceKey, DeviceRecord, KeyPackageRecord, DEVICE_PROOF_TAG,
};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		storage::{with_transaction, TransactionOutcome},
		traits::{
			fungible::{self, InspectHold},
			Consideration, Footprint,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::{
		traits::{Saturating, Zero},
		TryRuntimeError,
	};

	/// A device record as stored for a runtime.
	pub type DeviceRecordOf<T> = DeviceRecord<BlockNumberFor<T>>;

	/// A key package as a call carries it: bounded before it is decoded.
	pub type KeyPackageOf<T> = BoundedVec<u8, <T as Config>::MaxKeyPackageLen>;

	/// A key package record as stored for a runtime.
	pub type KeyPackageRecordOf<T> = KeyPackageRecord<KeyPackageOf<T>, BlockNumberFor<T>>;

	/// A device's Ed25519 signature over [`DEVICE_PROOF_TAG`] and its account.
	pub type DeviceProof = [u8; 64];

	/// The deposit an account holds for its devices' state.
	pub type TicketOf<T> = <T as Config>::Consideration;

	/// The in-code storage version. A change to stored state bumps it, with a
	/// `VersionedMigration` from the one before: 1 takes the deposits of devices bound
	/// before deposits ([`migrations::v1`]).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	/// The balance type of [`Config::Currency`].
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Longest time, in blocks, a key package may be published for.
		#[pallet::constant]
		type MaxKeyLifetime: Get<BlockNumberFor<Self>>;

		/// Blocks a removed device's record is kept: at least as long as anything checked
		/// against it (anchors) stays in state.
		#[pallet::constant]
		type KeptAfterEnd: Get<BlockNumberFor<Self>>;

		/// Device records kept per account, removed ones included until `KeptAfterEnd`
		/// blocks after their removal.
		#[pallet::constant]
		type MaxDevices: Get<u32>;

		/// Longest key package, in bytes.
		#[pallet::constant]
		type MaxKeyPackageLen: Get<u32>;

		/// The overarching hold reason; this pallet's [`HoldReason`] is one of its variants.
		type RuntimeHoldReason: From<HoldReason>;

		/// The balances deposits are held in (read by `try_state`).
		type Currency: fungible::InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The deposit held for the state an account's devices keep ([`Pallet::footprint`]).
		type Consideration: Consideration<Self::AccountId, Footprint>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

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

	/// The deposit each account holds for its devices: none until it adds a device, for
	/// accounts whose devices were bound at genesis or could not pay at the upgrade.
	#[pallet::storage]
	pub type Deposits<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, TicketOf<T>>;

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Held for the state an account's devices keep, returned as it is removed.
		Devices,
	}

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Devices bound from genesis (without key packages, which their owners publish):
		/// account, device key.
		pub devices: Vec<(T::AccountId, DeviceKey)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (who, device) in &self.devices {
				assert!(
					!DeviceOwner::<T>::contains_key(device),
					"genesis device {device:?} bound twice"
				);
				let record = DeviceRecord { key: *device, added: Zero::zero(), removed: None };
				Devices::<T>::try_mutate(who, |devices| devices.try_push(record))
					.expect("at most MaxDevices genesis devices per account");
				DeviceOwner::<T>::insert(device, who);
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
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
		/// An account dropped the records of devices removed `KeptAfterEnd` blocks ago or
		/// more; their keys may be bound again.
		RecordsDropped {
			/// The account.
			who: T::AccountId,
			/// How many records went.
			count: u32,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The expiry is not after the current block.
		ExpiryInPast,
		/// The expiry is further away than `MaxKeyLifetime`.
		LifetimeTooLong,
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
		/// The caller's free balance cannot hold the deposit its devices need.
		CannotPayDeposit,
		/// The caller has no record of a device removed `KeptAfterEnd` blocks ago or more.
		NothingToDrop,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxDevices::get() >= 1, "MaxDevices must allow a device");
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
		/// Bind `device` to the caller and publish its `key_package`, valid until
		/// `expires_at` (exclusive).
		///
		/// The origin must be signed. `proof` is the device key's Ed25519 signature over
		/// [`DEVICE_PROOF_TAG`] followed by the SCALE-encoded caller, so no account can
		/// bind a key it does not hold. The key must not be bound to any account. The
		/// caller's oldest record removed at least `KeptAfterEnd` blocks ago is dropped
		/// first (room when its records are full), and the caller holds the deposit for its
		/// records after the call ([`Pallet::footprint`]). Emits [`Event::DeviceAdded`] and
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
			ensure!(
				sp_io::crypto::ed25519_verify(
					&sp_core::ed25519::Signature::from_raw(proof),
					&device_proof_payload(&who),
					&sp_core::ed25519::Public::from_raw(device),
				),
				Error::<T>::BadDeviceProof
			);
			let mut devices = Devices::<T>::get(&who);
			let dropped = Self::drop_ended(&mut devices, now);
			devices
				.try_push(DeviceRecord { key: device, added: now, removed: None })
				.map_err(|_| Error::<T>::TooManyDevices)?;
			Self::hold_deposit(&who, &devices, true)?;

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
		/// record stays `KeptAfterEnd` blocks, for anchors it made; the oldest record kept
		/// that long already is dropped. The deposit for what goes is returned.
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
			let dropped = Self::drop_ended(&mut devices, now);
			Self::hold_deposit(&who, &devices, false)?;

			if let Some(dropped) = dropped {
				DeviceOwner::<T>::remove(dropped);
			}
			Devices::<T>::insert(&who, devices);
			KeyPackages::<T>::remove(device);
			Self::deposit_event(Event::DeviceRemoved { who, device });
			Ok(())
		}

		/// Drop every record of the caller's devices removed `KeptAfterEnd` blocks ago or
		/// more, returning their part of its deposit; with no record left, all of it. How
		/// an account that stopped using its devices gets its deposit back.
		///
		/// The origin must be signed and have such a record. Emits
		/// [`Event::RecordsDropped`].
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::drop_records())]
		pub fn drop_records(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			let mut devices = Devices::<T>::get(&who);
			let mut dropped = Vec::new();
			while let Some(key) = Self::drop_ended(&mut devices, now) {
				dropped.push(key);
			}
			ensure!(!dropped.is_empty(), Error::<T>::NothingToDrop);

			if devices.is_empty() {
				if let Some(ticket) = Deposits::<T>::take(&who) {
					ticket.drop(&who)?;
				}
				Devices::<T>::remove(&who);
			} else {
				Self::hold_deposit(&who, &devices, false)?;
				Devices::<T>::insert(&who, devices);
			}
			for key in &dropped {
				DeviceOwner::<T>::remove(key);
			}
			let count = dropped.len() as u32;
			Self::deposit_event(Event::RecordsDropped { who, count });
			Ok(())
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The record of `device` if it was bound to `who` at block `at` and is still kept.
		pub fn device_at(
			who: T::AccountId,
			device: DeviceKey,
			at: BlockNumberFor<T>,
		) -> Option<DeviceRecordOf<T>> {
			Devices::<T>::get(&who).into_iter().find(|r| r.key == device && r.is_bound_at(&at))
		}

		/// The devices bound to `who` now, oldest first: the devices a conversation with
		/// `who` must include.
		pub fn devices(who: T::AccountId) -> Vec<DeviceKey> {
			let now = frame_system::Pallet::<T>::block_number();
			Devices::<T>::get(&who)
				.into_iter()
				.filter(|r| r.is_bound_at(&now))
				.map(|r| r.key)
				.collect()
		}

		/// The key package of a bound `device`, if it has not expired.
		pub fn key_package(device: DeviceKey) -> Option<KeyPackageRecordOf<T>> {
			let now = frame_system::Pallet::<T>::block_number();
			KeyPackages::<T>::get(device).filter(|r| r.expires_at > now)
		}
	}

	impl<T: Config> DeviceInspect<T::AccountId> for Pallet<T> {
		fn has_device(who: &T::AccountId) -> bool {
			let now = frame_system::Pallet::<T>::block_number();
			Devices::<T>::get(who).iter().any(|r| r.is_bound_at(&now))
		}

		fn device_owner(device: &DeviceKey) -> Option<T::AccountId> {
			let owner = DeviceOwner::<T>::get(device)?;
			let now = frame_system::Pallet::<T>::block_number();
			Self::device_at(owner.clone(), *device, now).map(|_| owner)
		}
	}

	impl<T: Config> Pallet<T> {
		/// What `devices` keep in state: each record (with its owner entry), each bound
		/// device's key package at its longest, and the account's entries of both maps.
		pub fn footprint(devices: &[DeviceRecordOf<T>]) -> Footprint {
			let bound = devices.iter().filter(|r| r.removed.is_none()).count();
			let record =
				DeviceRecordOf::<T>::max_encoded_len()
					.saturating_add(map_entry::<DeviceKey, T::AccountId>(BLAKE2_128_CONCAT));
			let package = map_entry::<DeviceKey, KeyPackageRecordOf<T>>(BLAKE2_128_CONCAT);
			let account = map_entry::<T::AccountId, codec::Compact<u32>>(BLAKE2_128_CONCAT)
				.saturating_add(map_entry::<T::AccountId, TicketOf<T>>(BLAKE2_128_CONCAT));
			let bytes = record
				.saturating_mul(devices.len())
				.saturating_add(package.saturating_mul(bound))
				.saturating_add(account);
			Footprint::from_parts(1, bytes)
		}

		/// Drops from `devices` the oldest record removed at least `KeptAfterEnd` blocks
		/// before `now`, if any, and returns its key. `add_device` and `remove_device` drop
		/// one, so their weight does not grow with the records that could go;
		/// `drop_records` all.
		fn drop_ended(
			devices: &mut BoundedVec<DeviceRecordOf<T>, T::MaxDevices>,
			now: BlockNumberFor<T>,
		) -> Option<DeviceKey> {
			let index = devices.iter().position(|r| {
				r.removed
					.is_some_and(|removed| removed.saturating_add(T::KeptAfterEnd::get()) <= now)
			})?;
			Some(devices.remove(index).key)
		}

		/// Holds `who`'s deposit for `devices` (its records after this call), taking or
		/// returning the difference, when it `adds` a device. When it removes one, nothing
		/// more is ever taken (a price raised since must not stop anyone unbinding a lost
		/// device), and an account that holds none yet (its devices were bound before
		/// deposits) starts holding only when it adds one.
		fn hold_deposit(
			who: &T::AccountId,
			devices: &[DeviceRecordOf<T>],
			adds: bool,
		) -> DispatchResult {
			let footprint = Self::footprint(devices);
			let ticket = match Deposits::<T>::take(who) {
				Some(ticket) if adds => ticket.update(who, footprint),
				Some(ticket) => with_transaction(|| {
					let before: BalanceOf<T> = held(&ticket);
					match ticket.clone().update(who, footprint) {
						Ok(lower) if held::<BalanceOf<T>>(&lower) <= before => {
							TransactionOutcome::Commit(Ok(lower))
						}
						_ => TransactionOutcome::Rollback(Ok(ticket)),
					}
				}),
				None if adds => T::Consideration::new(who, footprint),
				None => return Ok(()),
			}
			.map_err(|_| Error::<T>::CannotPayDeposit)?;
			Deposits::<T>::insert(who, ticket);
			Ok(())
		}

		fn ensure_key_package(
			key_package: &KeyPackageOf<T>,
			expires_at: BlockNumberFor<T>,
			now: BlockNumberFor<T>,
		) -> DispatchResult {
			ensure!(!key_package.is_empty(), Error::<T>::EmptyKeyPackage);
			Self::ensure_expiry(expires_at, now)
		}

		/// Key packages expire after this block and at most `MaxKeyLifetime` ahead.
		fn ensure_expiry(expires_at: BlockNumberFor<T>, now: BlockNumberFor<T>) -> DispatchResult {
			ensure!(expires_at > now, Error::<T>::ExpiryInPast);
			ensure!(
				expires_at <= now.saturating_add(T::MaxKeyLifetime::get()),
				Error::<T>::LifetimeTooLong
			);
			Ok(())
		}

		/// Invariants: device owners and records match one to one, only bound devices have
		/// key packages, and each account holds exactly its deposit.
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
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
			for (who, ticket) in Deposits::<T>::iter() {
				ensure!(Devices::<T>::contains_key(&who), "a deposit for no devices");
				ensure!(
					held::<BalanceOf<T>>(&ticket)
						== T::Currency::balance_on_hold(&HoldReason::Devices.into(), &who),
					"an account's hold is not its deposit"
				);
			}
			Ok(())
		}
	}
}
