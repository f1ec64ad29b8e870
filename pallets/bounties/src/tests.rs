//! Tests of the bounties pallet: escrow, payment on delivery, return on expiry.

use crate::{mock::*, Bounties as BountyMap, Bounty, Error, Event, Expiring, HoldReason};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use quarks_primitives::OnDelivered;
use sp_core::H256;

const SENDER: u64 = 1;
const HOST: u64 = 7;
const OTHER_HOST: u64 = 8;

fn root(n: u64) -> H256 {
	H256::from_low_u64_be(n)
}

fn held(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::Bounty.into(), &who)
}

fn offer(root: H256, per_receipt: u64, receipts: u32) -> sp_runtime::DispatchResult {
	Bounties::offer(RuntimeOrigin::signed(SENDER), root, per_receipt, receipts)
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Bounties(e) => Some(e),
			_ => None,
		})
		.collect()
}

#[test]
fn an_offer_holds_its_shares_until_the_anchor_goes() {
	build_and_execute(|| {
		TestAnchors::record(SENDER, root(1), 2);
		assert_ok!(offer(root(1), 10, 3));
		assert_eq!(held(SENDER), 30);
		assert_eq!(
			BountyMap::<Test>::get(SENDER, root(1)),
			Some(Bounty { per_receipt: 10, left: 3, expires_at: 1 + RETENTION })
		);
		assert_eq!(Expiring::<Test>::get(1 + RETENTION, SENDER), Some(root(1)));
		assert_eq!(
			events(),
			[Event::Offered { sender: SENDER, root: root(1), per_receipt: 10, receipts: 3 }]
		);
	});
}

#[test]
fn an_offer_is_refused_unless_it_is_the_callers_kept_anchor_and_payable() {
	build_and_execute(|| {
		TestAnchors::record(SENDER, root(1), 2);
		TestAnchors::record(2, root(2), 1);
		// Another sender's anchor, or one never made.
		assert_noop!(offer(root(2), 10, 1), Error::<Test>::UnknownAnchor);
		assert_noop!(offer(root(3), 10, 1), Error::<Test>::UnknownAnchor);
		// 1 to 4 receipts a leaf, 2 leaves.
		assert_noop!(offer(root(1), 10, 0), Error::<Test>::InvalidReceipts);
		assert_noop!(offer(root(1), 10, 9), Error::<Test>::InvalidReceipts);
		assert_noop!(offer(root(1), 4, 1), Error::<Test>::BelowMinimum);
		// More than it has, or a total past the balance type.
		assert_noop!(offer(root(1), ENDOWMENT, 2), Error::<Test>::CannotPay);
		assert_noop!(offer(root(1), u64::MAX / 2, 8), Error::<Test>::CannotPay);
		TestAnchors::record(POOR, root(4), 1);
		let poor = Bounties::offer(RuntimeOrigin::signed(POOR), root(4), 10, 4);
		assert_noop!(poor, Error::<Test>::CannotPay);
		// Once only.
		assert_ok!(offer(root(1), 10, 8));
		assert_noop!(offer(root(1), 10, 1), Error::<Test>::AlreadyOffered);
	});
}

#[test]
fn each_delivery_pays_one_share_to_the_host_until_none_is_left() {
	build_and_execute(|| {
		TestAnchors::record(SENDER, root(1), 1);
		assert_ok!(offer(root(1), 10, 2));
		let (sender_had, host_had) = (Balances::balance(&SENDER), Balances::balance(&HOST));
		Bounties::delivered(&SENDER, &root(1), &HOST);
		assert_eq!((held(SENDER), Balances::balance(&HOST)), (10, host_had + 10));
		assert_eq!(BountyMap::<Test>::get(SENDER, root(1)).map(|b| b.left), Some(1));
		Bounties::delivered(&SENDER, &root(1), &OTHER_HOST);
		assert_eq!(held(SENDER), 0);
		assert_eq!(Balances::balance(&OTHER_HOST), ENDOWMENT + 10);
		assert_eq!(Balances::balance(&SENDER), sender_had);
		// Nothing left: the bounty is gone, and a further receipt pays nothing.
		assert_eq!(BountyMap::<Test>::get(SENDER, root(1)), None);
		assert_eq!(Expiring::<Test>::get(1 + RETENTION, SENDER), None);
		Bounties::delivered(&SENDER, &root(1), &HOST);
		assert_eq!(Balances::balance(&HOST), host_had + 10);
		let paid: Vec<_> =
			events().into_iter().filter(|e| matches!(e, Event::Paid { .. })).collect();
		assert_eq!(
			paid,
			[
				Event::Paid { sender: SENDER, root: root(1), operator: HOST, amount: 10 },
				Event::Paid { sender: SENDER, root: root(1), operator: OTHER_HOST, amount: 10 },
			]
		);
	});
}

#[test]
fn a_delivery_of_an_anchor_without_a_bounty_pays_nothing() {
	build_and_execute(|| {
		TestAnchors::record(SENDER, root(1), 1);
		TestAnchors::record(SENDER, root(2), 1);
		assert_ok!(offer(root(1), 10, 1));
		Bounties::delivered(&SENDER, &root(2), &HOST);
		Bounties::delivered(&2, &root(1), &HOST);
		assert_eq!((held(SENDER), Balances::balance(&HOST)), (10, ENDOWMENT));
	});
}

#[test]
fn what_is_left_returns_to_the_sender_when_the_anchor_is_pruned() {
	build_and_execute(|| {
		TestAnchors::record(SENDER, root(1), 1);
		// Offered three blocks after the anchor: it still expires with it.
		run_to(4);
		assert_ok!(offer(root(1), 10, 3));
		Bounties::delivered(&SENDER, &root(1), &HOST);
		run_to(RETENTION);
		assert_eq!(held(SENDER), 20, "kept until the anchor's pruning");
		run_to(1 + RETENTION);
		assert_eq!(held(SENDER), 0);
		assert_eq!(Balances::balance(&SENDER), ENDOWMENT - 10);
		assert_eq!(BountyMap::<Test>::iter().count() + Expiring::<Test>::iter().count(), 0);
		assert!(events().contains(&Event::Returned { sender: SENDER, root: root(1), amount: 20 }));
		// The anchor is gone too: no bounty on it now.
		assert_noop!(offer(root(1), 10, 1), Error::<Test>::UnknownAnchor);
	});
}

#[test]
fn bounties_of_one_block_expire_together_and_others_stay() {
	build_and_execute(|| {
		for sender in 1..=3 {
			TestAnchors::record(sender, root(sender), 1);
			assert_ok!(Bounties::offer(RuntimeOrigin::signed(sender), root(sender), 10, 1));
		}
		run_to(2);
		TestAnchors::record(SENDER, root(9), 1);
		assert_ok!(offer(root(9), 10, 1));
		run_to(1 + RETENTION);
		assert_eq!([held(1), held(2), held(3)], [10, 0, 0]);
		assert_eq!(BountyMap::<Test>::iter().count(), 1);
		run_to(2 + RETENTION);
		assert_eq!(held(1), 0);
	});
}
