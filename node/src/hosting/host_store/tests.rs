//! The host store's tests: durability, quotas and shares, tombstones, receptions.

use super::*;
use quarks_primitives::merkle;
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie};

const LIMITS: Limits = Limits {
	capacity: 10_000,
	user_quota: 3_000,
	sender_share: 3_000,
	stranger_share: 3_000,
	strangers: 3_000,
	sender_pending: 5_000,
	sender_capacity: 10_000,
};

/// Inserts one envelope in a batch of its own.
fn insert(
	store: &HostStore,
	hash: H256,
	submission: &Submission,
	meta: Meta,
	limits: Limits,
) -> Result<Option<Meta>, StoreError> {
	let mut batch = store.batch();
	let kept = batch.insert(hash, submission, meta, limits)?;
	batch.commit()?;
	Ok(kept)
}

fn body(n: u8, len: usize) -> Submission {
	Submission { envelope: vec![n; len], signature: [n; 64] }
}

fn meta(len: usize, recipients: &[AccountId], state: State) -> Meta {
	Meta {
		sender: Charlie.to_account_id(),
		leaf: H256::repeat_byte(len as u8),
		len: len as u32,
		recipients: recipients.to_vec(),
		position: 0,
		state,
	}
}

fn pending(at: BlockNumber) -> State {
	State::Pending { received_at: at, membership: None }
}

fn anchored(block: BlockNumber) -> State {
	State::Anchored {
		block,
		membership: BatchMembership { root: H256::zero(), proof: merkle::single_proof() },
		is_final: false,
	}
}

#[test]
fn a_persistent_store_keeps_mail_states_nonces_and_receptions_across_reopening() {
	let dir = tempfile::tempdir().expect("temp dir");
	let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
	{
		let store = HostStore::open(dir.path()).expect("opens");
		insert(
			&store,
			H256::repeat_byte(1),
			&body(1, 1000),
			meta(1000, &[alice.clone(), bob.clone()], anchored(5)),
			LIMITS,
		)
		.expect("fits");
		insert(
			&store,
			H256::repeat_byte(2),
			&body(2, 1000),
			meta(1000, &[bob.clone()], pending(6)),
			LIMITS,
		)
		.expect("fits");
		store.stop_keeping([(H256::repeat_byte(1), alice.clone())], 100).expect("written");
		store.use_nonce(&bob, 7).expect("fresh nonce");
		store.mark_received(&bob, [7; 32], &[H256::repeat_byte(2)]).expect("written");
	}
	let store = HostStore::open(dir.path()).expect("reopens");
	assert!(store.mailbox(&alice, None, 10, usize::MAX, None).expect("reads").0.is_empty());
	let (entries, next) = store.mailbox(&bob, None, 10, usize::MAX, None).expect("reads");
	let hashes: Vec<H256> = entries.iter().map(|(_, h, ..)| *h).collect();
	assert_eq!(hashes, vec![H256::repeat_byte(1), H256::repeat_byte(2)]);
	assert_eq!(entries[1].2, body(2, 1000), "bodies come from disk");
	assert_eq!(entries[1].3, pending(6));
	assert_eq!(next, None);
	assert_eq!(store.use_nonce(&bob, 7), Err(StoreError::Replayed { nonce: 7, last: 7 }));
	let [reception] = &store.receptions(&bob)[..] else { panic!("one reception") };
	assert_eq!(reception.hash, H256::repeat_byte(2));
	assert_eq!(reception.devices, BTreeSet::from([[7; 32]]));
	let (totals, _) = store.usage();
	assert_eq!(totals.pending, Usage { envelopes: 1, bytes: 1000 });
	assert_eq!(totals.anchored, Usage { envelopes: 1, bytes: 1000 });
	// Positions continue after a reopen: a new envelope pages after the old ones.
	let kept = insert(
		&store,
		H256::repeat_byte(3),
		&body(3, 10),
		meta(10, &[bob.clone()], pending(7)),
		LIMITS,
	)
	.expect("fits")
	.expect("new");
	assert!(kept.position > entries[1].0);
}

#[test]
fn mail_is_kept_only_once_its_batch_is_committed() {
	let dir = tempfile::tempdir().expect("temp dir");
	let bob = Bob.to_account_id();
	let (a, b, c) = (H256::repeat_byte(1), H256::repeat_byte(2), H256::repeat_byte(3));
	{
		let store = HostStore::open(dir.path()).expect("opens");
		let mut batch = store.batch();
		batch
			.insert(a, &body(1, 100), meta(100, &[bob.clone()], pending(1)), LIMITS)
			.expect("fits");
		assert_eq!(store.body(&a), Ok(None), "not on disk before the commit");
		batch.commit().expect("committed");
		let mut batch = store.batch();
		batch
			.insert(b, &body(2, 100), meta(100, &[bob.clone()], pending(1)), LIMITS)
			.expect("fits");
		drop(batch);
		assert!(!store.contains(&b), "an uncommitted batch leaves nothing behind");
		let mut batch = store.batch();
		batch
			.insert(c, &body(3, 100), meta(100, &[bob.clone()], pending(1)), LIMITS)
			.expect("fits");
		// Its anchor is seen before the batch commits: the state reaches the disk first.
		store.set_states(vec![(c, anchored(2))]).expect("written");
		drop(batch);
		assert_eq!(store.usage().1[&bob], Usage { envelopes: 1, bytes: 100 });
	}
	let store = HostStore::open(dir.path()).expect("reopens");
	let (entries, _) = store.mailbox(&bob, None, 10, usize::MAX, None).expect("reads");
	assert_eq!(entries.iter().map(|(_, h, ..)| *h).collect::<Vec<_>>(), vec![a]);
	assert!(!store.contains(&c), "a state without its body is dropped on opening");
}

#[test]
fn refusals_change_nothing_and_a_recipient_over_quota_does_not_stop_the_others() {
	let store = HostStore::in_memory().expect("opens");
	let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
	insert(
		&store,
		H256::repeat_byte(1),
		&body(1, 2500),
		meta(2500, &[alice.clone()], anchored(1)),
		LIMITS,
	)
	.expect("fits");
	let before = store.usage();
	assert_eq!(
		insert(
			&store,
			H256::repeat_byte(2),
			&body(2, 1000),
			meta(1000, &[alice.clone()], anchored(1)),
			LIMITS
		),
		Err(StoreError::OverQuota)
	);
	let tight = Limits { capacity: 3000, ..LIMITS };
	assert_eq!(
		insert(
			&store,
			H256::repeat_byte(3),
			&body(3, 1000),
			meta(1000, &[bob.clone()], anchored(1)),
			tight
		),
		Err(StoreError::OverCapacity)
	);
	let stingy = Limits { sender_pending: 500, ..LIMITS };
	assert_eq!(
		insert(
			&store,
			H256::repeat_byte(4),
			&body(4, 1000),
			meta(1000, &[bob.clone()], pending(1)),
			stingy
		),
		Err(StoreError::SenderOverQuota)
	);
	assert_eq!(store.usage(), before);

	// A group envelope: Alice is full, Bob still gets it.
	let kept = insert(
		&store,
		H256::repeat_byte(5),
		&body(5, 1000),
		meta(1000, &[alice.clone(), bob.clone()], anchored(1)),
		LIMITS,
	)
	.expect("fits")
	.expect("new");
	assert_eq!(kept.recipients, vec![bob.clone()]);
	assert_eq!(store.mailbox(&alice, None, 10, usize::MAX, None).expect("reads").0.len(), 1);
}

#[test]
fn a_sender_keeps_at_most_its_share_of_a_recipients_quota() {
	let store = HostStore::in_memory().expect("opens");
	let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
	let limits = Limits { sender_share: 1000, ..LIMITS };
	let h = H256::repeat_byte;
	store.set_contacts(&alice, [1; 32], vec![Charlie.to_account_id()]).expect("written");
	insert(&store, h(1), &body(1, 1000), meta(1000, &[alice.clone()], anchored(1)), limits)
		.expect("fits");
	// Charlie holds his share of Alice's mailbox: nothing more from him for her...
	let more = meta(100, &[alice.clone()], anchored(1));
	assert_eq!(
		insert(&store, h(2), &body(2, 100), more.clone(), limits),
		Err(StoreError::OverShare)
	);
	// ...while his group envelope still reaches Bob, and others still reach Alice.
	let group = meta(100, &[alice.clone(), bob.clone()], anchored(1));
	let kept = insert(&store, h(3), &body(3, 100), group, limits).expect("fits").expect("new");
	assert_eq!(kept.recipients, vec![bob.clone()]);
	let from_bob = Meta { sender: bob.clone(), ..meta(100, &[alice.clone()], anchored(1)) };
	insert(&store, h(4), &body(4, 100), from_bob, limits).expect("fits");
	// Once Alice's host stops keeping Charlie's first envelope for her, he has room again.
	let released =
		store.stop_keeping([(h(1), alice.clone()), (h(1), alice.clone()), (h(9), bob)], 100);
	assert_eq!(released, Ok(1), "each kept pair once; unknown mail is no error");
	assert!(!store.contains(&h(1)));
	insert(&store, h(2), &body(2, 100), more, limits).expect("fits");
}

/// Issue 26, item 4: however many accounts strangers hold, together they keep one part
/// of a mailbox, each at most its own share, and the senders the owner accepted on any
/// of its devices keep theirs; a new list moves what is held from one part to the
/// other; lists and counts survive a reopen.
#[test]
fn strangers_together_keep_one_part_of_a_mailbox_and_contacts_keep_theirs() {
	let dir = tempfile::tempdir().expect("temp dir");
	let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
	let (laptop, phone) = ([1; 32], [2; 32]);
	let limits = Limits { sender_share: 400, stranger_share: 100, strangers: 400, ..LIMITS };
	let sybils: Vec<AccountId> = (1..=8u8).map(|i| AccountId::new([i; 32])).collect();
	let serial = std::cell::Cell::new(0u8);
	let send = |store: &HostStore, sender: &AccountId, len: usize| {
		serial.set(serial.get() + 1);
		let hash = H256::repeat_byte(serial.get());
		let meta = Meta { sender: sender.clone(), ..meta(len, &[alice.clone()], anchored(1)) };
		insert(store, hash, &body(serial.get(), len), meta, limits).map(|_| hash)
	};
	let refused = |sent: Result<H256, StoreError>| sent.err();
	let strangers = {
		let store = HostStore::open(dir.path()).expect("opens");
		store.set_contacts(&alice, laptop, vec![bob.clone()]).expect("written");
		// Each stranger keeps at most its own share...
		send(&store, &sybils[0], 100).expect("fits");
		assert_eq!(refused(send(&store, &sybils[0], 1)), Some(StoreError::OverShare));
		// ...and four of them fill the strangers' part: a fifth account is refused.
		let strangers: Vec<H256> =
			sybils[1..4].iter().map(|sybil| send(&store, sybil, 100).expect("fits")).collect();
		assert_eq!(refused(send(&store, &sybils[4], 100)), Some(StoreError::StrangersFull));
		// Bob, a contact, keeps his own share meanwhile, and Alice her own mail.
		send(&store, &bob, 400).expect("fits");
		assert_eq!(refused(send(&store, &bob, 1)), Some(StoreError::OverShare));
		send(&store, &alice, 400).expect("fits");
		// Her phone accepts the first stranger: its mail leaves the strangers' part, and
		// the laptop's list still counts.
		store.set_contacts(&alice, phone, vec![sybils[0].clone()]).expect("written");
		send(&store, &sybils[0], 300).expect("a contact's share now");
		send(&store, &sybils[4], 100).expect("room among strangers again");
		strangers
	};
	let store = HostStore::open(dir.path()).expect("reopens");
	assert_eq!(store.contact_counts(), vec![(alice.clone(), 2)]);
	// The strangers' part is as full as before the restart: one envelope let go makes
	// room for one more, no more.
	assert_eq!(refused(send(&store, &sybils[5], 100)), Some(StoreError::StrangersFull));
	store.stop_keeping([(strangers[0], alice.clone())], 100).expect("written");
	send(&store, &sybils[5], 100).expect("room for one");
	// The laptop names no one now: Bob's 400 bytes are a stranger's, so letting one
	// stranger's envelope go makes no room.
	store.set_contacts(&alice, laptop, Vec::new()).expect("written");
	store.stop_keeping([(strangers[1], alice.clone())], 100).expect("written");
	assert_eq!(refused(send(&store, &sybils[6], 100)), Some(StoreError::StrangersFull));
	// Lists of the last eight devices count: an eighth new one replaces the phone's.
	for device in 3..=9u8 {
		store.set_contacts(&alice, [device; 32], vec![sybils[7].clone()]).expect("written");
		assert_eq!(store.contact_counts(), vec![(alice.clone(), 2)], "device {device}");
	}
	store.set_contacts(&alice, [10; 32], vec![sybils[7].clone()]).expect("written");
	assert_eq!(store.contact_counts(), vec![(alice.clone(), 1)]);
}

/// Issue 26, item 4: one sender writing to many of a host's users keeps at most its
/// share of the host, however many mailboxes still have room for it.
#[test]
fn a_sender_keeps_at_most_its_share_of_the_host() {
	let store = HostStore::in_memory().expect("opens");
	let limits = Limits { sender_capacity: 250, ..LIMITS };
	let h = H256::repeat_byte;
	let users: Vec<AccountId> = (1..=3u8).map(|i| AccountId::new([i; 32])).collect();
	for (i, user) in users.iter().enumerate() {
		let kept = insert(
			&store,
			h(i as u8 + 1),
			&body(1, 100),
			meta(100, &[user.clone()], anchored(1)),
			limits,
		);
		if i < 2 {
			kept.expect("within the sender's share");
		} else {
			assert_eq!(kept, Err(StoreError::SenderOverCapacity), "a third would pass 250");
		}
	}
	let other = Meta { sender: Bob.to_account_id(), ..meta(100, &[users[2].clone()], anchored(1)) };
	insert(&store, h(9), &body(9, 100), other, limits).expect("another sender has room");
	assert_eq!(store.stop_keeping([(h(1), users[0].clone())], 100), Ok(1));
	insert(&store, h(3), &body(3, 100), meta(100, &[users[2].clone()], anchored(1)), limits)
		.expect("room again once one is gone");
}

/// Issue 26, item 4: mail delivered or deleted here does not come back, whoever posts
/// it again, for the recipients who had it, until its retention ends, across restarts.
#[test]
fn delivered_or_deleted_mail_leaves_a_tombstone_until_its_retention_ends() {
	let dir = tempfile::tempdir().expect("temp dir");
	let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
	let hash = H256::repeat_byte(1);
	{
		let store = HostStore::open(dir.path()).expect("opens");
		let group = meta(100, &[alice.clone(), bob.clone()], anchored(1));
		insert(&store, hash, &body(1, 100), group, LIMITS).expect("fits");
		assert_eq!(store.stop_keeping([(hash, alice.clone())], 50), Ok(1));
		assert_eq!(store.tombstoned(&hash, &[alice.clone(), bob.clone()]), vec![alice.clone()]);
		// A tombstone only for mail that was kept: none for mail never held.
		assert_eq!(store.stop_keeping([(H256::repeat_byte(2), bob.clone())], 50), Ok(0));
		assert!(store.tombstoned(&H256::repeat_byte(2), &[bob.clone()]).is_empty());
	}
	let store = HostStore::open(dir.path()).expect("reopens");
	assert_eq!(store.tombstoned(&hash, &[alice.clone(), bob.clone()]), vec![alice.clone()]);
	store.forget_tombstones_before(50).expect("written");
	assert_eq!(store.tombstoned(&hash, &[alice.clone()]), vec![alice.clone()], "due at 50");
	store.forget_tombstones_before(51).expect("written");
	assert!(store.tombstoned(&hash, &[alice.clone()]).is_empty());
	drop(store);
	let store = HostStore::open(dir.path()).expect("reopens");
	assert!(store.tombstoned(&hash, &[alice]).is_empty(), "forgotten on disk too");
}

#[test]
fn pending_mail_is_found_by_its_awaited_root_and_moves_through_its_states() {
	let store = HostStore::in_memory().expect("opens");
	let bob = Bob.to_account_id();
	let hash = H256::repeat_byte(1);
	let m = meta(100, &[bob.clone()], pending(3));
	let root = merkle::single_root(&m.leaf);
	assert_eq!(insert(&store, hash, &body(1, 100), m.clone(), LIMITS), Ok(Some(m.clone())));
	assert_eq!(insert(&store, hash, &body(1, 100), m.clone(), LIMITS), Ok(None), "kept once");
	assert_eq!(store.awaiting(&m.sender, &root), vec![hash]);
	assert_eq!(store.pending_before(4), vec![hash]);
	assert!(store.pending_before(3).is_empty());

	store.set_states(vec![(hash, anchored(5))]).expect("written");
	assert!(store.awaiting(&m.sender, &root).is_empty());
	assert!(store.pending_before(100).is_empty());
	assert_eq!(store.unfinal_up_to(5).len(), 1);
	assert!(store.unfinal_up_to(4).is_empty());
	let State::Anchored { block, membership, .. } = anchored(5) else { unreachable!() };
	store
		.set_states(vec![(hash, State::Anchored { block, membership, is_final: true })])
		.expect("written");
	assert!(store.unfinal_up_to(5).is_empty());
	assert_eq!(store.anchored_before(6), vec![hash]);
	assert_eq!(store.usage().0.finalized, Usage { envelopes: 1, bytes: 100 });
}

#[test]
fn a_group_envelope_goes_once_every_recipient_acknowledged_or_it_was_removed() {
	let store = HostStore::in_memory().expect("opens");
	let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
	let group = H256::repeat_byte(1);
	insert(
		&store,
		group,
		&body(1, 100),
		meta(100, &[alice.clone(), bob.clone()], anchored(10)),
		LIMITS,
	)
	.expect("fits");
	insert(
		&store,
		H256::repeat_byte(2),
		&body(2, 100),
		meta(100, &[alice.clone()], anchored(20)),
		LIMITS,
	)
	.expect("fits");
	assert_eq!(store.stop_keeping([(group, alice.clone())], 100), Ok(1));
	assert_eq!(store.stop_keeping([(group, alice.clone())], 100), Ok(0), "twice is a no-op");
	assert_eq!(store.mailbox(&bob, None, 10, usize::MAX, None).expect("reads").0[0].1, group);
	assert_eq!(store.stop_keeping([(group, bob.clone())], 100), Ok(1));
	assert!(store.mailbox(&bob, None, 10, usize::MAX, None).expect("reads").0.is_empty());
	assert_eq!(store.body(&group), Ok(None), "its body is gone");
	assert_eq!(
		store.remove(&H256::repeat_byte(2)).expect("ok").map(|m| m.recipients),
		Some(vec![alice.clone()])
	);
	assert_eq!(store.usage(), (Totals::default(), BTreeMap::new()));
}

#[test]
fn receptions_count_only_mail_kept_for_the_device_owner_and_go_with_it() {
	let store = HostStore::in_memory().expect("opens");
	let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
	let (group, alone) = (H256::repeat_byte(1), H256::repeat_byte(2));
	let State::Anchored { block, membership, .. } = anchored(10) else { unreachable!() };
	let final_at_10 = State::Anchored { block, membership, is_final: true };
	let both = meta(100, &[alice.clone(), bob.clone()], final_at_10);
	insert(&store, group, &body(1, 100), both, LIMITS).expect("fits");
	insert(&store, alone, &body(2, 100), meta(100, &[alice.clone()], pending(3)), LIMITS)
		.expect("fits");
	// Bob's device names mail not kept for Bob, and an unknown envelope: neither counts.
	let marked = store.mark_received(&bob, [1; 32], &[group, alone, H256::zero(), group]);
	let marked = marked.expect("written");
	assert_eq!(marked.len(), 1, "{marked:?}");
	assert_eq!(marked[0].final_at, Some(10));
	assert_eq!(marked[0].devices, BTreeSet::from([[1; 32]]));
	let again = store.mark_received(&bob, [2; 32], &[group]).expect("written");
	assert_eq!(again[0].devices, BTreeSet::from([[1; 32], [2; 32]]));
	let alices = store.mark_received(&alice, [3; 32], &[alone]).expect("written");
	assert_eq!(alices[0].final_at, None, "still pending");
	assert_eq!(store.receiving_accounts(None, 10).len(), 2);
	assert_eq!(store.receiving(&group, &[alice.clone(), bob.clone()]), vec![bob.clone()]);
	// Anchored but not final: who counts is not settled yet.
	let unfinal = H256::repeat_byte(3);
	insert(&store, unfinal, &body(3, 100), meta(100, &[bob.clone()], anchored(12)), LIMITS)
		.expect("fits");
	let marked = store.mark_received(&bob, [1; 32], &[unfinal]).expect("written");
	assert_eq!(marked[0].final_at, None, "not final");
	store.remove(&unfinal).expect("removed");
	assert!(store.receiving_accounts(Some(&alice.clone().max(bob.clone())), 10).is_empty());
	// No longer kept for Bob: his receptions go; Alice's stay with her copy.
	assert_eq!(store.stop_keeping([(group, bob.clone())], 100), Ok(1));
	assert!(store.receptions(&bob).is_empty());
	assert_eq!(store.receptions(&alice).len(), 1);
	// Dropped entirely: every reception of it goes, on disk as in memory.
	store.remove(&alone).expect("removed");
	assert!(store.receptions(&alice).is_empty());
	assert!(store.receiving_accounts(None, 10).is_empty());
	let rows = store.db.begin_read().expect("reads").open_table(RECEIVED).expect("table");
	assert_eq!(rows.iter().expect("iterates").count(), 0, "no row left behind");
}

#[test]
fn mail_is_delivered_once_every_device_bound_at_its_anchor_and_still_bound_has_it() {
	let record = |key: u8, added, removed| DeviceRecord { key: [key; 32], added, removed };
	// Phone from block 1; laptop from 1, removed at 50; tablet from 20.
	let records = [record(1, 1, None), record(2, 1, Some(50)), record(3, 20, None)];
	let reception = |final_at, devices: &[u8]| Reception {
		hash: H256::zero(),
		final_at,
		devices: devices.iter().map(|d| [*d; 32]).collect(),
	};
	// Anchored at 10: phone and laptop count, the tablet came later.
	assert!(!reception(Some(10), &[1]).is_delivered(&records, 30), "the laptop is away");
	assert!(reception(Some(10), &[1, 2]).is_delivered(&records, 30));
	// Once the laptop is removed it no longer counts.
	assert!(reception(Some(10), &[1]).is_delivered(&records, 50));
	// Anchored at 20: the tablet counts too.
	assert!(!reception(Some(20), &[1, 2]).is_delivered(&records, 30));
	assert!(reception(Some(20), &[1, 2, 3]).is_delivered(&records, 30));
	// A device bound in the anchoring block counts (its own welcome may be there).
	assert!(!reception(Some(20), &[1]).is_delivered(&[record(1, 1, None), record(3, 20, None)], 30));
	// Mail not final waits, whoever has it.
	assert!(!reception(None, &[1, 2, 3]).is_delivered(&records, 30));
}

#[test]
fn a_mailbox_pages_by_count_and_bytes() {
	let store = HostStore::in_memory().expect("opens");
	let bob = Bob.to_account_id();
	for n in 1..=5u8 {
		insert(
			&store,
			H256::repeat_byte(n),
			&body(n, 100),
			meta(100, &[bob.clone()], anchored(1)),
			LIMITS,
		)
		.expect("fits");
	}
	let (first, next) = store.mailbox(&bob, None, 2, usize::MAX, None).expect("reads");
	assert_eq!(first.len(), 2);
	let (second, next) = store.mailbox(&bob, next, 2, 250, None).expect("reads");
	assert_eq!(second.len(), 2);
	assert!(second[0].0 > first[1].0);
	let (third, next) = store.mailbox(&bob, next, 2, 50, None).expect("reads");
	assert_eq!(third.len(), 1, "at least one entry, however large");
	assert_eq!(next, None);
	// A device's pages leave out what it said it has, and still advance.
	let [_, second, _, fourth, _] = [1u8, 2, 3, 4, 5].map(H256::repeat_byte);
	store.mark_received(&bob, [1; 32], &[second, fourth]).expect("written");
	let (page, next) = store.mailbox(&bob, None, 2, usize::MAX, Some(&[1; 32])).expect("reads");
	let hashes: Vec<H256> = page.iter().map(|(_, hash, ..)| *hash).collect();
	assert_eq!(hashes, [1u8, 3].map(H256::repeat_byte));
	let (page, next) = store.mailbox(&bob, next, 2, usize::MAX, Some(&[1; 32])).expect("reads");
	assert_eq!(page.iter().map(|(_, hash, ..)| *hash).collect::<Vec<_>>(), [H256::repeat_byte(5)]);
	assert_eq!(next, None);
	let (all, _) = store.mailbox(&bob, None, 10, usize::MAX, Some(&[2; 32])).expect("reads");
	assert_eq!(all.len(), 5, "another device's word leaves nothing out for this one");
}

#[test]
fn a_former_users_contact_lists_are_forgotten_and_stay_forgotten() {
	let dir = tempfile::tempdir().expect("temp dir");
	let (alice, bob, charlie) =
		(Alice.to_account_id(), Bob.to_account_id(), Charlie.to_account_id());
	{
		let store = HostStore::open(dir.path()).expect("opens");
		for device in [[1; 32], [2; 32]] {
			store.set_contacts(&alice, device, vec![charlie.clone()]).expect("written");
		}
		store.set_contacts(&bob, [3; 32], vec![charlie.clone()]).expect("written");
		let mail = meta(100, &[bob.clone()], anchored(1));
		insert(&store, H256::repeat_byte(1), &body(1, 100), mail, LIMITS).expect("fits");
		let (listing, before) = store.listing_accounts(None, 10);
		assert_eq!(listing.len(), 2);
		// A list Alice gives once the look began is a user's: it stays, the older goes.
		store.set_contacts(&alice, [2; 32], vec![bob.clone()]).expect("written");
		store.forget_contacts(&alice, before).expect("written");
		let mut both = vec![(alice.clone(), 1), (bob.clone(), 1)];
		both.sort();
		assert_eq!(store.contact_counts(), both);
		let (_, now) = store.listing_accounts(None, 10);
		store.forget_contacts(&alice, now).expect("written");
		// Bob keeps mail here: his lists decide its shares, and stay.
		store.forget_contacts(&bob, now).expect("written");
	}
	let store = HostStore::open(dir.path()).expect("reopens");
	assert_eq!(store.listing_accounts(None, 10).0, vec![bob.clone()]);
	assert_eq!(store.contact_counts(), vec![(bob, 1)]);
}

#[test]
fn nonces_must_grow_per_account() {
	let store = HostStore::in_memory().expect("opens");
	let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
	store.use_nonce(&alice, 5).expect("first");
	store.use_nonce(&bob, 1).expect("accounts are independent");
	assert_eq!(store.use_nonce(&alice, 4), Err(StoreError::Replayed { nonce: 4, last: 5 }));
	store.use_nonce(&alice, 6).expect("greater");
}
