//! # Quarks Hosts Pallet
//!
//! Hosts keep users' encrypted mail until it is delivered. Host operators are admitted by
//! a privileged origin (the network is permissioned), and each user chooses, on chain,
//! which 1 to [`Config::MaxHostsPerUser`] hosts keep their mail: the user's control over
//! who holds their data is a public, auditable act.
//!
//! ## Terminology
//!
//! - **Host**: a node operated by an admitted account (its *operator*). Its record says
//!   where clients and relays reach it (an RPC endpoint), how long it keeps mail
//!   (*retention*, in blocks), and how many bytes it stores in all (*capacity*) and per
//!   user (*user quota*).
//! - **Choice**: the hosts a user chose. A removed host stays in choices that named it
//!   until the user chooses again; [`Event::HostRemoved`] tells clients to do so, and
//!   [`Pallet::hosts_of`] lists only admitted hosts.
//! - **Deposit**: a user holds [`Config::Consideration`] for its choice while it is kept
//!   (the same for any number of hosts), returned by [`Pallet::clear_hosts`]. Choices made
//!   at the genesis of a chain started at storage version 1 hold none until the user
//!   chooses again; those kept from before version 1 pay at the upgrade to it
//!   ([`migrations::v1`]), if the user can.
//!
//! ## Calls
//!
//! By [`Config::AdminOrigin`]: [`Pallet::admit_host`], [`Pallet::remove_host`].
//! By a host's operator: [`Pallet::update_host`].
//! By any signed account: [`Pallet::choose_hosts`], [`Pallet::clear_hosts`].

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
pub use quarks_primitives::hosting::{HostInfo, HostInspect};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{self, InspectHold},
			Consideration, Footprint,
		},
		CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
	};
	use frame_system::pallet_prelude::*;
	use quarks_primitives::deposit::{held, map_entry, BLAKE2_128_CONCAT};
	use quarks_primitives::endpoint::{is_endpoint, is_public};
	use scale_info::TypeInfo;
	use sp_runtime::{traits::Zero, TryRuntimeError};

	/// What a host offers and where to reach it.
	#[derive(
		Encode,
		Decode,
		DecodeWithMemTracking,
		CloneNoBound,
		PartialEqNoBound,
		EqNoBound,
		DebugNoBound,
		TypeInfo,
		MaxEncodedLen,
	)]
	#[scale_info(skip_type_params(MaxEndpointLen))]
	pub struct HostRecord<
		MaxEndpointLen: Get<u32>,
		BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	> {
		/// The host's JSON-RPC endpoint (`ws://`, `wss://`, `http://` or `https://`).
		pub endpoint: BoundedVec<u8, MaxEndpointLen>,
		/// How long, in blocks, the host keeps an envelope that was not delivered.
		pub retention: BlockNumber,
		/// Bytes the host stores in all.
		pub capacity: u64,
		/// Bytes the host stores for one user.
		pub user_quota: u64,
	}

	/// A host record as stored for a runtime.
	pub type HostRecordOf<T> = HostRecord<<T as Config>::MaxEndpointLen, BlockNumberFor<T>>;

	/// The hosts a user chose.
	pub type ChoiceOf<T> =
		BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxHostsPerUser>;

	/// The deposit a user holds for its choice.
	pub type TicketOf<T> = <T as Config>::Consideration;

	/// The balance type of [`Config::Currency`].
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;

	/// The in-code storage version. A change to stored state bumps it, with a
	/// `VersionedMigration` from the one before: 1 takes the deposits of choices made
	/// before deposits ([`migrations::v1`]).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Origin that admits and removes hosts.
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Longest endpoint, in bytes.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;

		/// Most hosts a user may choose (K).
		#[pallet::constant]
		type MaxHostsPerUser: Get<u32>;

		/// Longest retention a host may offer, in blocks.
		#[pallet::constant]
		type MaxRetention: Get<BlockNumberFor<Self>>;

		/// The overarching hold reason; this pallet's [`HoldReason`] is one of its variants.
		type RuntimeHoldReason: From<HoldReason>;

		/// The balances deposits are held in (read by `try_state`).
		type Currency: fungible::InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The deposit held for a user's choice ([`Pallet::choice_footprint`]).
		type Consideration: Consideration<Self::AccountId, Footprint>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Admitted hosts, by operator account.
	#[pallet::storage]
	pub type Hosts<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, HostRecordOf<T>>;

	/// The hosts each user chose, in the user's order of preference.
	#[pallet::storage]
	pub type Choices<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, ChoiceOf<T>>;

	/// The deposit each user holds for its choice: none for a choice made at genesis, or
	/// by a user who could not pay at the upgrade.
	#[pallet::storage]
	pub type Deposits<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, TicketOf<T>>;

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Held for a user's choice of hosts, returned when it is cleared.
		Choice,
	}

	/// Whether host endpoints may name loopback, private or link-local addresses (a test
	/// network on one machine or a LAN). Off, a host operator cannot aim every node's
	/// pushes and relays at services behind them: the chain refuses such addresses, and
	/// nodes connect to a named endpoint only while every address it resolves to is public.
	#[pallet::storage]
	pub type AllowPrivateEndpoints<T> = StorageValue<_, bool, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Hosts admitted at genesis: operator, endpoint, retention, capacity, user quota.
		pub hosts: Vec<(T::AccountId, Vec<u8>, BlockNumberFor<T>, u64, u64)>,
		/// Users' choices at genesis: user, hosts in order of preference.
		pub choices: Vec<(T::AccountId, Vec<T::AccountId>)>,
		/// Whether endpoints may name private addresses ([`AllowPrivateEndpoints`]).
		pub allow_private_endpoints: bool,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			AllowPrivateEndpoints::<T>::put(self.allow_private_endpoints);
			for (operator, endpoint, retention, capacity, quota) in &self.hosts {
				let record =
					Pallet::<T>::checked_record(endpoint.clone(), *retention, *capacity, *quota)
						.expect("genesis host records are valid");
				Hosts::<T>::insert(operator, record);
			}
			for (user, hosts) in &self.choices {
				let choice = ChoiceOf::<T>::try_from(hosts.clone())
					.expect("genesis choices name at most MaxHostsPerUser hosts");
				assert!(!choice.is_empty(), "genesis choice of {user:?} is empty");
				assert!(
					choice.iter().all(|h| Hosts::<T>::contains_key(h)),
					"genesis choice of {user:?} names an unknown host"
				);
				Choices::<T>::insert(user, choice);
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A host operator was admitted.
		HostAdmitted {
			/// The operator's account, which identifies the host.
			operator: T::AccountId,
			/// Its record.
			record: HostRecordOf<T>,
		},
		/// A host changed its record.
		HostUpdated {
			/// The operator's account.
			operator: T::AccountId,
			/// The new record.
			record: HostRecordOf<T>,
		},
		/// A host was removed; users who chose it should choose again.
		HostRemoved {
			/// The operator's account.
			operator: T::AccountId,
		},
		/// A user chose the hosts that keep its mail.
		HostsChosen {
			/// The user.
			who: T::AccountId,
			/// The chosen hosts' operators, in order of preference.
			hosts: ChoiceOf<T>,
		},
		/// A user cleared its choice: no host keeps its mail now.
		HostsCleared {
			/// The user.
			who: T::AccountId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account already operates an admitted host.
		AlreadyHost,
		/// The account operates no admitted host.
		NotHost,
		/// The endpoint is longer than `MaxEndpointLen`.
		EndpointTooLong,
		/// The endpoint is not a `ws://`, `wss://`, `http://` or `https://` URL of printable
		/// ASCII whose host every URL parser reads alike: no `\`, `@` or `%` before its path,
		/// no name that ends in a number.
		InvalidEndpoint,
		/// The endpoint names a loopback, private or link-local address, which this
		/// network does not allow.
		PrivateEndpoint,
		/// Retention must be at least one block.
		ZeroRetention,
		/// Retention exceeds `MaxRetention`.
		RetentionTooLong,
		/// Capacity and user quota must be positive, and the quota at most the capacity.
		InvalidQuota,
		/// A choice must name at least one host.
		NoHosts,
		/// A choice names more than `MaxHostsPerUser` hosts.
		TooManyHosts,
		/// A choice names the same host twice.
		DuplicateHost,
		/// A choice names an account that operates no admitted host.
		UnknownHost,
		/// The caller's free balance cannot hold the deposit a choice needs.
		CannotPayDeposit,
		/// The caller has no choice to clear.
		NoChoice,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxHostsPerUser::get() >= 1, "users must be able to choose a host");
			assert!(T::MaxEndpointLen::get() >= 16, "endpoints need room for a URL");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Admit `operator`'s host with the given record.
		///
		/// The origin must be [`Config::AdminOrigin`]. The record must be valid (see
		/// [`Error`]). Emits [`Event::HostAdmitted`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::admit_host())]
		pub fn admit_host(
			origin: OriginFor<T>,
			operator: T::AccountId,
			endpoint: Vec<u8>,
			retention: BlockNumberFor<T>,
			capacity: u64,
			user_quota: u64,
		) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			ensure!(!Hosts::<T>::contains_key(&operator), Error::<T>::AlreadyHost);
			let record = Self::checked_record(endpoint, retention, capacity, user_quota)?;

			Hosts::<T>::insert(&operator, &record);
			Self::deposit_event(Event::HostAdmitted { operator, record });
			Ok(())
		}

		/// Remove `operator`'s host.
		///
		/// The origin must be [`Config::AdminOrigin`]. Emits [`Event::HostRemoved`]; users
		/// who chose the host keep their other hosts and should choose again.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::remove_host())]
		pub fn remove_host(origin: OriginFor<T>, operator: T::AccountId) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			ensure!(Hosts::<T>::contains_key(&operator), Error::<T>::NotHost);

			Hosts::<T>::remove(&operator);
			Self::deposit_event(Event::HostRemoved { operator });
			Ok(())
		}

		/// Replace the caller's host record.
		///
		/// The origin must be the operator of an admitted host, and the record valid.
		/// Emits [`Event::HostUpdated`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::update_host())]
		pub fn update_host(
			origin: OriginFor<T>,
			endpoint: Vec<u8>,
			retention: BlockNumberFor<T>,
			capacity: u64,
			user_quota: u64,
		) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			ensure!(Hosts::<T>::contains_key(&operator), Error::<T>::NotHost);
			let record = Self::checked_record(endpoint, retention, capacity, user_quota)?;

			Hosts::<T>::insert(&operator, &record);
			Self::deposit_event(Event::HostUpdated { operator, record });
			Ok(())
		}

		/// Choose the hosts that keep the caller's mail, replacing any earlier choice.
		///
		/// The origin must be signed. `hosts` names 1 to `MaxHostsPerUser` distinct
		/// admitted hosts, in order of preference. Emits [`Event::HostsChosen`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::choose_hosts(hosts.len() as u32))]
		pub fn choose_hosts(origin: OriginFor<T>, hosts: Vec<T::AccountId>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!hosts.is_empty(), Error::<T>::NoHosts);
			let hosts = ChoiceOf::<T>::try_from(hosts).map_err(|_| Error::<T>::TooManyHosts)?;
			for (i, host) in hosts.iter().enumerate() {
				ensure!(!hosts[..i].contains(host), Error::<T>::DuplicateHost);
				ensure!(Hosts::<T>::contains_key(host), Error::<T>::UnknownHost);
			}

			if !Deposits::<T>::contains_key(&who) {
				let ticket = T::Consideration::new(&who, Self::choice_footprint())
					.map_err(|_| Error::<T>::CannotPayDeposit)?;
				Deposits::<T>::insert(&who, ticket);
			}
			Choices::<T>::insert(&who, &hosts);
			Self::deposit_event(Event::HostsChosen { who, hosts });
			Ok(())
		}

		/// Clear the caller's choice and return its deposit: no host keeps the caller's
		/// mail from now on, and senders cannot address it until it chooses again.
		///
		/// The origin must be signed and have a choice. Emits [`Event::HostsCleared`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::clear_hosts())]
		pub fn clear_hosts(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(Choices::<T>::contains_key(&who), Error::<T>::NoChoice);

			Choices::<T>::remove(&who);
			if let Some(ticket) = Deposits::<T>::take(&who) {
				ticket.drop(&who)?;
			}
			Self::deposit_event(Event::HostsCleared { who });
			Ok(())
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The admitted hosts `who` chose, with their records, in order of preference.
		pub fn hosts_of(who: T::AccountId) -> Vec<(T::AccountId, HostRecordOf<T>)> {
			Self::admitted_choices(&who).collect()
		}

		/// The record of `operator`'s host, if admitted.
		pub fn host(operator: T::AccountId) -> Option<HostRecordOf<T>> {
			Hosts::<T>::get(&operator)
		}
	}

	impl<T: Config> HostInspect<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
		fn host(operator: &T::AccountId) -> Option<HostInfo<BlockNumberFor<T>>> {
			Hosts::<T>::get(operator).map(|record| HostInfo {
				endpoint: record.endpoint.into_inner(),
				retention: record.retention,
				capacity: record.capacity,
				user_quota: record.user_quota,
			})
		}

		fn hosts_of(user: &T::AccountId) -> Vec<T::AccountId> {
			Self::admitted_choices(user).map(|(host, _)| host).collect()
		}
	}

	impl<T: Config> Pallet<T> {
		/// The hosts `user` chose that are still admitted, with their records, in order.
		fn admitted_choices(
			user: &T::AccountId,
		) -> impl Iterator<Item = (T::AccountId, HostRecordOf<T>)> {
			Choices::<T>::get(user)
				.unwrap_or_default()
				.into_iter()
				.filter_map(|host| Hosts::<T>::get(&host).map(|record| (host, record)))
		}

		/// What a choice keeps in state, the same for any number of hosts: its entry at the
		/// longest, and its deposit's.
		pub fn choice_footprint() -> Footprint {
			let bytes = map_entry::<T::AccountId, ChoiceOf<T>>(BLAKE2_128_CONCAT)
				.saturating_add(map_entry::<T::AccountId, TicketOf<T>>(BLAKE2_128_CONCAT));
			Footprint::from_parts(1, bytes)
		}

		fn checked_record(
			endpoint: Vec<u8>,
			retention: BlockNumberFor<T>,
			capacity: u64,
			user_quota: u64,
		) -> Result<HostRecordOf<T>, Error<T>> {
			let endpoint: BoundedVec<u8, T::MaxEndpointLen> =
				endpoint.try_into().map_err(|_| Error::<T>::EndpointTooLong)?;
			ensure!(is_endpoint(&endpoint), Error::<T>::InvalidEndpoint);
			ensure!(
				AllowPrivateEndpoints::<T>::get() || is_public(&endpoint),
				Error::<T>::PrivateEndpoint
			);
			ensure!(!retention.is_zero(), Error::<T>::ZeroRetention);
			ensure!(retention <= T::MaxRetention::get(), Error::<T>::RetentionTooLong);
			ensure!(
				capacity > 0 && user_quota > 0 && user_quota <= capacity,
				Error::<T>::InvalidQuota
			);
			Ok(HostRecord { endpoint, retention, capacity, user_quota })
		}

		/// Invariants: every stored record is valid; choices are non-empty, distinct and
		/// within `MaxHostsPerUser`; each deposit is a choice's, and held.
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
			for (_, record) in Hosts::<T>::iter() {
				ensure!(is_endpoint(&record.endpoint), "stored endpoint is invalid");
				ensure!(!record.retention.is_zero(), "stored retention is zero");
				ensure!(
					record.user_quota > 0 && record.user_quota <= record.capacity,
					"stored quota is invalid"
				);
			}
			for (_, hosts) in Choices::<T>::iter() {
				ensure!(!hosts.is_empty(), "a stored choice is empty");
				for (i, host) in hosts.iter().enumerate() {
					ensure!(!hosts[..i].contains(host), "a stored choice repeats a host");
				}
			}
			for (who, ticket) in Deposits::<T>::iter() {
				ensure!(Choices::<T>::contains_key(&who), "a deposit for no choice");
				ensure!(
					held::<BalanceOf<T>>(&ticket)
						== T::Currency::balance_on_hold(&HoldReason::Choice.into(), &who),
					"a user's hold is not its deposit"
				);
			}
			Ok(())
		}
	}
}
