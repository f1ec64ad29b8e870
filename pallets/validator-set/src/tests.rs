//! Tests of the validator set on a runtime with the real Aura and GRANDPA pallets.

use crate::{mock::*, Error, Event, FinalityChangeDeferred, Validators};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::DispatchError;

fn accounts() -> Vec<AccountId> {
	ValidatorSet::validator_accounts()
}

fn grandpa_voters() -> Vec<sp_consensus_grandpa::AuthorityId> {
	Grandpa::grandpa_authorities().into_iter().map(|(id, _)| id).collect()
}

fn pending_voters() -> Option<Vec<sp_consensus_grandpa::AuthorityId>> {
	Grandpa::pending_change().map(|c| c.next_authorities.iter().map(|(id, _)| id.clone()).collect())
}

#[test]
fn genesis_sets_validators_and_authorities() {
	ExtBuilder::default().build_and_execute(|| {
		assert_eq!(accounts(), vec![1, 2, 3]);
		assert_eq!(pallet_aura::Authorities::<Test>::get().len(), 3);
		assert_eq!(grandpa_voters(), (1..=3).map(|i| keys(i).1).collect::<Vec<_>>());
		assert_eq!(Grandpa::current_set_id(), 0);
	});
}

#[test]
fn add_validator_changes_authors_now_and_schedules_finality_change() {
	ExtBuilder::default().build_and_execute(|| {
		let (aura, grandpa) = keys(4);
		assert_ok!(ValidatorSet::add_validator(
			RuntimeOrigin::root(),
			4,
			aura.clone(),
			grandpa.clone()
		));

		assert_eq!(accounts(), vec![1, 2, 3, 4]);
		assert_eq!(pallet_aura::Authorities::<Test>::get().last(), Some(&aura));
		let expected: Vec<_> = (1..=4).map(|i| keys(i).1).collect();
		assert_eq!(pending_voters(), Some(expected.clone()));
		System::assert_has_event(Event::ValidatorAdded { validator: 4, aura, grandpa }.into());
		System::assert_last_event(Event::FinalityChangeScheduled { voters: 4 }.into());
		// The runtime names the set the nodes' GRANDPA counts: one more per hand-off, what
		// clients check justifications against.
		assert_eq!(Grandpa::current_set_id(), 1);

		// Delay 0: enacted when the block carrying it is finalised.
		next_block();
		assert_eq!(grandpa_voters(), expected);
		assert_eq!(pending_voters(), None);
	});
}

#[test]
fn add_keeps_accounts_sorted() {
	ExtBuilder::default().build_and_execute(|| {
		let (aura, grandpa) = keys(0);
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 0, aura.clone(), grandpa));
		assert_eq!(accounts(), vec![0, 1, 2, 3]);
		assert_eq!(pallet_aura::Authorities::<Test>::get().first(), Some(&aura));
	});
}

#[test]
fn add_existing_validator_fails() {
	ExtBuilder::default().build_and_execute(|| {
		let (aura, grandpa) = keys(9);
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 2, aura, grandpa),
			Error::<Test>::AlreadyValidator
		);
	});
}

#[test]
fn add_with_a_key_in_use_fails() {
	ExtBuilder::default().build_and_execute(|| {
		let (aura_in_use, grandpa_in_use) = keys(1);
		let (aura, grandpa) = keys(9);
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 9, aura_in_use, grandpa),
			Error::<Test>::AuraKeyInUse
		);
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 9, aura, grandpa_in_use),
			Error::<Test>::GrandpaKeyInUse
		);
	});
}

#[test]
fn add_beyond_max_fails() {
	ExtBuilder::default().validators(MaxValidators::get() as u64).build_and_execute(|| {
		let (aura, grandpa) = keys(9);
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 9, aura, grandpa),
			Error::<Test>::TooManyValidators
		);
	});
}

#[test]
fn remove_validator_works() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 2));

		assert_eq!(accounts(), vec![1, 3]);
		assert_eq!(
			pallet_aura::Authorities::<Test>::get().into_inner(),
			vec![keys(1).0, keys(3).0]
		);
		assert_eq!(pending_voters(), Some(vec![keys(1).1, keys(3).1]));
		System::assert_has_event(Event::ValidatorRemoved { validator: 2 }.into());
	});
}

#[test]
fn remove_unknown_validator_fails() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::root(), 7),
			Error::<Test>::NotValidator
		);
	});
}

#[test]
fn remove_below_minimum_fails() {
	ExtBuilder::default().validators(MinValidators::get() as u64).build_and_execute(|| {
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::root(), 1),
			Error::<Test>::TooFewValidators
		);
	});
}

#[test]
fn unprivileged_origin_is_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (aura, grandpa) = keys(4);
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::signed(1), 4, aura, grandpa),
			DispatchError::BadOrigin
		);
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::signed(1), 2),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn second_change_in_a_block_is_scheduled_in_the_next() {
	ExtBuilder::default().build_and_execute(|| {
		let (aura, grandpa) = keys(4);
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4, aura, grandpa));
		assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 1));
		System::assert_last_event(Event::FinalityChangeDeferred.into());
		assert!(FinalityChangeDeferred::<Test>::get());
		// Aura follows at once; GRANDPA still has the first change pending.
		assert_eq!(pallet_aura::Authorities::<Test>::get().len(), 3);
		assert_eq!(pending_voters().map(|v| v.len()), Some(4));

		next_block();
		let latest: Vec<_> = [2, 3, 4].into_iter().map(|i| keys(i).1).collect();
		assert_eq!(pending_voters(), Some(latest.clone()));
		assert!(!FinalityChangeDeferred::<Test>::get());
		System::assert_last_event(Event::FinalityChangeScheduled { voters: 3 }.into());

		assert_eq!(Grandpa::current_set_id(), 2, "the deferred change is a set of its own");
		next_block();
		assert_eq!(grandpa_voters(), latest);
		assert_eq!(Validators::<Test>::get().len(), 3);
	});
}

#[test]
#[should_panic(expected = "genesis validators are fewer than MinValidators")]
fn genesis_below_minimum_is_refused() {
	ExtBuilder::default().validators(1).build();
}

#[test]
fn a_stalled_finality_is_recovered_by_forcing_the_current_set() {
	ExtBuilder::default().build_and_execute(|| {
		System::set_block_number(10);
		assert_noop!(
			ValidatorSet::recover_finality(RuntimeOrigin::signed(1), 5, 2),
			DispatchError::BadOrigin
		);
		assert_noop!(
			ValidatorSet::recover_finality(RuntimeOrigin::root(), 10, 2),
			Error::<Test>::FinalityRecoveryRefused
		);
		// Validator 3 went offline: removed, its standard change cannot be finalized.
		assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 3));
		next_block();
		assert_eq!(Grandpa::current_set_id(), 1);
		assert_ok!(ValidatorSet::recover_finality(RuntimeOrigin::root(), 5, 2));
		assert_eq!(Grandpa::current_set_id(), 2, "a forced set is a new set too");
		System::assert_last_event(Event::FinalityRecoveryScheduled { voters: 2, delay: 2 }.into());
		let change = Grandpa::pending_change().expect("a change is pending");
		assert_eq!(change.forced, Some(5), "forced, voting on from the last finalized block");
		assert_eq!(change.delay, 2);
		let survivors: Vec<_> = (1..=2).map(|i| keys(i).1).collect();
		assert_eq!(pending_voters(), Some(survivors.clone()));
		// A second recovery while one is pending is refused and changes nothing.
		assert_noop!(
			ValidatorSet::recover_finality(RuntimeOrigin::root(), 5, 2),
			Error::<Test>::FinalityRecoveryRefused
		);
		for _ in 0..3 {
			next_block();
		}
		assert_eq!(grandpa_voters(), survivors);
	});
}
