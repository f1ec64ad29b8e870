//! The reading loop: every host's mail as it comes, each message shown once, its
//! notarization advanced as the chain moves, receipts batched, groups kept in line. A
//! message is let go once settled (final and acknowledged, or not notarized): only its
//! hash stays, so a long session holds in memory what is still moving, not all it read.

use super::{
	handed::{self, Untold},
	notarization::{candidates, claimed, AnchorReads},
	retries::{Retries, Retry},
	Notarization, ReadOptions, Received, Update, MAX_RECEIPTS, NOT_NOTARIZED_AFTER,
};
use crate::{
	chain::{At, ChainError, Wait},
	database::MessageState,
	error::ClientError,
	hosts::{Mailbox, MailboxEntry},
	messenger::Messenger,
	seal, BlockNumber,
};
use quarks_primitives::{
	envelope::hash_of, hosting::BatchMembership, mailbox::MailEvent, merkle::verify, DeviceKey,
};
use sp_core::{crypto::AccountId32, H256};
use std::{
	collections::{HashMap, HashSet},
	sync::Arc,
	time::{Duration, Instant},
};
use tokio::sync::{mpsc, watch};

/// Receipts wait at most this long to be batched.
const ACK_EVERY: Duration = Duration::from_secs(2);
/// The longest wait before receipts that could not go out (the node away) go again.
const LONGEST_ACK_WAIT: Duration = Duration::from_secs(32);
/// A pass the chain took longer than this to answer means it was away (a node restarting
/// holds requests until it is back): that time is no message's.
const CHAIN_STALL: Duration = Duration::from_secs(5);
/// Mail events from the hosts waiting to be read: beyond it, hosts' tasks wait.
const MAX_QUEUED_EVENTS: usize = 4096;
/// Which of the account's hosts an event came from: its place among the mailboxes read.
pub(super) type Source = usize;
/// The pause before asking a host again for its mail after its stream ended; while it
/// stays unreachable, each pause doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(8);
/// How long a host has to take the list of senders this account accepted.
const TELL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a finished reading waits for its hosts to hear what this device has.
const LAST_TELLING: Duration = Duration::from_secs(10);

/// Receipts on their way to a block, in a task of their own: the hashes they acknowledge,
/// and how it went.
type Acknowledging = tokio::task::JoinHandle<(Vec<H256>, Result<(), ClientError>)>;

/// Hosts being told what this device has; what they did not take comes back.
type Telling = tokio::task::JoinHandle<Untold>;

/// What the hosts being told did not take, once they answered; never, if none is told.
async fn told(telling: &mut Option<Telling>) -> Untold {
	match telling {
		Some(task) => match task.await {
			Ok(untold) => untold,
			Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
			// Not told: the hosts still keep it, and hear it when it is read there again.
			Err(_) => Untold::default(),
		},
		None => std::future::pending().await,
	}
}

/// What the hosts being told did not take; nothing at once if none is being told.
async fn told_if_any(telling: &mut Option<Telling>) -> Untold {
	match telling {
		Some(_) => told(telling).await,
		None => Untold::default(),
	}
}

/// The receipts in flight, once they are in a block (or refused); never, if none are.
async fn in_flight(
	acknowledging: &mut Option<Acknowledging>,
) -> (Vec<H256>, Result<(), ClientError>) {
	match acknowledging {
		Some(receipts) => match receipts.await {
			Ok(outcome) => outcome,
			// A bug, not a node away: it is not retried as one.
			Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
			Err(failed) => (
				Vec::new(),
				Err(ClientError::Chain(ChainError::Rpc(format!("receipts: {failed}")))),
			),
		},
		None => std::future::pending().await,
	}
}

/// Whom this account accepted, as this device last read it; `None` if it could not.
type Accepted = watch::Sender<Option<Vec<AccountId32>>>;

/// Tells `mailbox`'s host whom this account accepted on `device`, as `accepted` says now;
/// a host that does not answer in time is told at its next reconnection or change.
async fn tell(
	mailbox: &Mailbox,
	device: DeviceKey,
	accepted: &mut watch::Receiver<Option<Vec<AccountId32>>>,
) {
	let Some(now) = accepted.borrow_and_update().clone() else { return };
	let _ = tokio::time::timeout(TELL_TIMEOUT, mailbox.set_contacts(device, now)).await;
}

/// The state of one message being read.
struct Tracked {
	received: Received,
	shown_at: Instant,
	/// A host dropped it for want of an anchor.
	dropped: bool,
	/// Something may have changed its notarization: read the chain at the next pass.
	check: bool,
	/// Where hosts claimed it sits in its sender's anchor, not yet confirmed by the chain:
	/// each host's latest claim only, so a lying host's claims cannot crowd out an honest
	/// host's, nor grow without end.
	claims: Vec<(Source, BatchMembership)>,
	/// The hosts that delivered it: each is told once this device has it for good.
	sources: Vec<Source>,
	acknowledged: bool,
	/// A letter this very device sent, back from the hosts (it is a member too): its
	/// other devices read it; here it is only acknowledged, never shown.
	own: bool,
}

impl Tracked {
	/// Keeps a host's claim of where the message sits in its sender's anchor, to be tried
	/// at the next pass, unless the chain already confirmed where it sits.
	fn claim(&mut self, source: Source, membership: BatchMembership) {
		let confirmed = matches!(
			self.received.notarization,
			Notarization::Anchored(_) | Notarization::Final(_)
		);
		if confirmed
			|| self.received.membership.as_ref() == Some(&membership)
			|| self.claims.iter().any(|(_, claimed)| *claimed == membership)
			|| !verify(&membership.root, &self.received.leaf.value(), &membership.proof)
		{
			return;
		}
		match self.claims.iter_mut().find(|(host, _)| *host == source) {
			Some((_, earlier)) => *earlier = membership,
			None => self.claims.push((source, membership)),
		}
		self.check = true;
	}

	/// The memberships hosts claimed.
	fn claimed(&self) -> Vec<BatchMembership> {
		self.claims.iter().map(|(_, membership)| membership.clone()).collect()
	}

	/// Whether nothing is left to do for it: not notarized, or final and acknowledged
	/// (when receipts are sent).
	fn is_done(&self, acknowledge: bool) -> bool {
		match self.received.notarization {
			Notarization::NotNotarized => true,
			Notarization::Final(_) => self.acknowledged || !acknowledge,
			Notarization::Pending | Notarization::Anchored(_) => false,
		}
	}
}

/// What one [`Messenger::read_mail`] holds while it runs.
#[derive(Default)]
struct Reading {
	/// Whether this reading acknowledges what it reads: on chain, and to the hosts.
	acknowledge: bool,
	/// What this device has for good and its hosts were not told yet.
	untold: Untold,
	/// Messages shown and not done with.
	tracked: HashMap<H256, Tracked>,
	/// Messages done with: a copy from another host is not opened again.
	done: HashSet<H256>,
	/// Mail that may open later.
	retries: Retries<(MailboxEntry, Source)>,
	/// Letters from others shown.
	letters: usize,
	/// When the chain last answered a pass, or a pass had nothing to ask it.
	chain_answered: Option<Instant>,
}

impl Reading {
	/// `source`'s host delivered `hash`, which is being read: it is told once this device
	/// has it for good (at once, if it has).
	fn delivered_by(&mut self, hash: H256, source: Source) {
		let Some(t) = self.tracked.get_mut(&hash) else { return };
		if !t.sources.contains(&source) {
			t.sources.push(source);
			if t.acknowledged {
				self.untold.add(source, hash);
			}
		}
	}

	/// Lets go of the messages done with.
	fn let_go(&mut self, acknowledge: bool) {
		let done: Vec<H256> =
			self.tracked.iter().filter(|(_, t)| t.is_done(acknowledge)).map(|(h, _)| *h).collect();
		for hash in done {
			self.tracked.remove(&hash);
			self.done.insert(hash);
		}
	}
}

impl Messenger {
	/// Reads mail: what the hosts keep, and with `follow` what arrives, reporting each
	/// [`Update`] to `on_update` — a message as soon as it opens, then its notarization as
	/// it advances — and acknowledging final messages in batches. Returns when `count`
	/// letters were shown and settled, at `timeout` (once receipts already sent have their
	/// answer), or (without `follow`) once every message read has settled. While
	/// following, keeps this device's groups in line with the chain and updates its leaves
	/// as `options` say.
	pub async fn read_mail(
		&self,
		options: ReadOptions,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) -> Result<(), ClientError> {
		let (mut events, accepted, mailboxes) = self.mail_events(options.follow).await?;
		let started = Instant::now();
		let mut reading = Reading { acknowledge: options.acknowledge, ..Reading::default() };
		// Hosts being told what this device has, and not before when after a failure.
		let (mut telling, mut tell_not_before, mut tell_wait) = (None, Instant::now(), ACK_EVERY);
		let mut last_ack = Instant::now();
		// After receipts failed to go out: not before this, then after twice the wait.
		let (mut ack_not_before, mut ack_wait) = (Instant::now(), ACK_EVERY);
		let (mut last_sync, mut last_update) = (Instant::now(), Instant::now());
		let mut tick = tokio::time::interval(Duration::from_millis(500));
		// A long pass is not followed by a burst of the ticks it missed.
		tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
		let mut fetched = false;
		let mut open = true;
		// Receipts waiting for their block: mail keeps being shown meanwhile.
		let mut acknowledging: Option<Acknowledging> = None;
		loop {
			// Events are taken as they come; the chain is read at most once per tick.
			tokio::select! {
				event = events.recv(), if open => {
					match event {
						Some(Some((source, event))) => {
							self.on_event(source, event, &mut reading, on_update).await
						}
						// Every host's first fetch is in.
						Some(None) => fetched = true,
						None if options.follow => {
							return Err(ChainError::Rpc("every mailbox connection ended".into()).into())
						}
						None => (fetched, open) = (true, false),
					}
					continue;
				},
				outcome = in_flight(&mut acknowledging) => {
					acknowledging = None;
					let (hashes, outcome) = outcome;
					match outcome {
						Ok(_) => {
							for hash in &hashes {
								if let Some(t) = reading.tracked.get_mut(hash) {
									t.acknowledged = true;
									for source in &t.sources {
										reading.untold.add(*source, *hash);
									}
								}
							}
							on_update(&Update::Acknowledged(hashes.len()));
							ack_wait = ACK_EVERY;
						}
						// A follower outlives its node's restart: the receipts go again
						// after waits that double, and nothing read so far is read again.
						// A refusal on chain (it would cost a fee each time) ends it.
						Err(ClientError::Chain(error))
							if options.follow && error.is_transport() =>
						{
							ack_not_before = Instant::now() + ack_wait;
							ack_wait = ack_wait.saturating_mul(2).min(LONGEST_ACK_WAIT);
							on_update(&Update::AcknowledgeFailed(error.into()))
						}
						Err(error) => return Err(error),
					}
					last_ack = Instant::now();
				},
				untold = told(&mut telling) => {
					telling = None;
					if untold.is_empty() {
						tell_wait = ACK_EVERY;
					} else {
						tell_not_before = Instant::now() + tell_wait;
						tell_wait = tell_wait.saturating_mul(2).min(LONGEST_ACK_WAIT);
					}
					reading.untold.put_back(untold);
				},
				_ = tick.tick() => {},
			}
			for retry in reading.retries.due(Instant::now()) {
				let (entry, source) = retry.item;
				self.show(entry, source, (retry.since, retry.attempts), &mut reading, on_update)
					.await;
			}
			self.advance(&mut reading, on_update).await;
			let due = |every: Option<Duration>, last: Instant| {
				options.follow && every.is_some_and(|every| last.elapsed() >= every)
			};
			if due(options.sync_every, last_sync) || due(options.update_every, last_update) {
				let update = due(options.update_every, last_update);
				for (group, outcome) in self.sync_accepted_groups(update, &mut |_| {}).await {
					match outcome {
						Ok(Some(epoch)) => on_update(&Update::Committed { group, epoch }),
						Ok(None) => {}
						// The sync found this account removed: the device let the group go.
						Err(ClientError::NotInGroup(_)) => on_update(&Update::Left { group }),
						Err(error) => on_update(&Update::CommitFailed { group, error }),
					}
				}
				// Conversations accepted or joined since: their people's mail is theirs at
				// the hosts too.
				if let Ok(now) = self.accepted_senders() {
					accepted.send_if_modified(|told| {
						let changed = told.as_ref() != Some(&now);
						*told = Some(now);
						changed
					});
				}
				last_sync = Instant::now();
				if update {
					last_update = last_sync;
				}
			}
			let timed_out = options.timeout.is_some_and(|t| started.elapsed() >= t);
			if options.acknowledge
				&& acknowledging.is_none()
				&& !timed_out
				&& !reading.tracked.is_empty()
			{
				let due: Vec<&Tracked> = reading
					.tracked
					.values()
					.filter(|t| {
						!t.acknowledged && matches!(t.received.notarization, Notarization::Final(_))
					})
					.collect();
				let batch_due = due.len() >= MAX_RECEIPTS
					|| (!due.is_empty() && last_ack.elapsed() >= ACK_EVERY);
				if batch_due && Instant::now() >= ack_not_before {
					// Each receipt names the host its message came from first (a bounty pays
					// it), but for this account's own letters: no one is paid for those.
					let host = |t: &Tracked| {
						let first = t.sources.first().and_then(|s| mailboxes.get(*s));
						first.filter(|_| !t.own).map(|mailbox| mailbox.host().operator.clone())
					};
					let due: Vec<Received> = due
						.into_iter()
						.take(MAX_RECEIPTS)
						.map(|t| Received { fetched_from: host(t), ..t.received.clone() })
						.collect();
					let receipts = self.receipts();
					acknowledging = Some(tokio::spawn(async move {
						let hashes: Vec<H256> = due.iter().map(|r| r.hash).collect();
						let due: Vec<&Received> = due.iter().collect();
						let sent = receipts.acknowledge(&due, Wait::InBlock, &mut |_| {}).await;
						(hashes, sent.map(drop))
					}));
				}
			}
			if telling.is_none() && !reading.untold.is_empty() && Instant::now() >= tell_not_before
			{
				let due = reading.untold.take();
				let (mailboxes, device) = (mailboxes.clone(), self.device_key());
				telling = Some(tokio::spawn(handed::tell(mailboxes, device, due)));
			}
			reading.let_go(options.acknowledge);
			let settled = reading.tracked.is_empty() && reading.retries.is_empty();
			let counted = options.count.map_or(!options.follow, |n| reading.letters >= n);
			// Out of time, it still takes the answer for receipts already sent, and tells
			// the hosts what it has (within a bound: they keep the mail if not told).
			if ((fetched && counted && settled) || timed_out) && acknowledging.is_none() {
				let last = async {
					reading.untold.put_back(told_if_any(&mut telling).await);
					let due = reading.untold.take();
					if !due.is_empty() {
						handed::tell(mailboxes.clone(), self.device_key(), due).await;
					}
				};
				// Within what is left of the reading's time, if it has one.
				let left = options.timeout.map_or(LAST_TELLING, |timeout| {
					timeout.saturating_sub(started.elapsed()).max(Duration::from_secs(1))
				});
				let _ = tokio::time::timeout(left.min(LAST_TELLING), last).await;
				return Ok(());
			}
		}
	}

	/// Mail events from every chosen host: what each keeps (then `None` once every host's
	/// first fetch is in), and with `follow`, what happens next — each subscription renewed
	/// after a dropped connection (subscriptions do not survive a reconnect). Each host is
	/// told whom this account accepted after each fetch, and again whenever the returned
	/// sender changes, by the host's own task: a silent host delays no one else.
	#[allow(clippy::type_complexity)]
	async fn mail_events(
		&self,
		follow: bool,
	) -> Result<
		(
			mpsc::Receiver<Option<(Source, MailEvent<BlockNumber>)>>,
			Accepted,
			Arc<Vec<Arc<Mailbox>>>,
		),
		ClientError,
	> {
		// Bounded: a host that floods its subscription waits for the reader, and holds at
		// most this many events of the client's memory.
		let (tx, rx) = mpsc::channel(MAX_QUEUED_EVENTS);
		// A list this device could not read is not told: it would demote everyone.
		let (accepted, _) = watch::channel(self.accepted_senders().ok());
		let device = self.device_key();
		let mailboxes: Arc<Vec<Arc<Mailbox>>> =
			Arc::new(self.mailboxes().await?.into_iter().map(Arc::new).collect());
		let (fetched_tx, mut fetched_rx) = mpsc::unbounded_channel::<()>();
		let hosts = mailboxes.len();
		for (source, mailbox) in mailboxes.iter().cloned().enumerate() {
			let tx = tx.clone();
			let fetched_tx = fetched_tx.clone();
			let mut accepted = accepted.subscribe();
			tokio::spawn(async move {
				let mut first = true;
				let mut pause = FIRST_PAUSE;
				loop {
					// Subscribe before fetching so nothing falls between the two.
					let subscription = if follow { mailbox.subscribe().await.ok() } else { None };
					if subscription.is_some() {
						pause = FIRST_PAUSE;
					}
					for entry in mailbox.fetch_new(device).await.unwrap_or_default() {
						if tx.send(Some((source, MailEvent::Mail(entry)))).await.is_err() {
							return;
						}
					}
					// After every (re)connection, so a host just chosen, or one that lost it,
					// learns it too; a one-time read tells before it ends.
					if !follow {
						tell(&mailbox, device, &mut accepted).await;
					}
					if std::mem::take(&mut first) {
						let _ = fetched_tx.send(());
					}
					if follow {
						tell(&mailbox, device, &mut accepted).await;
					}
					let Some(mut subscription) = subscription else {
						if follow {
							// A host that is down is asked again after pauses that double.
							tokio::time::sleep(pause).await;
							pause = pause.saturating_mul(2).min(LONGEST_PAUSE);
							continue;
						}
						return;
					};
					loop {
						let event = tokio::select! {
							event = subscription.next() => event,
							Ok(()) = accepted.changed() => {
								tell(&mailbox, device, &mut accepted).await;
								continue;
							}
						};
						let Some(Ok(event)) = event else { break };
						let missed = matches!(event, MailEvent::Missed);
						if tx.send(Some((source, event))).await.is_err() {
							return;
						}
						if missed {
							for entry in mailbox.fetch_new(device).await.unwrap_or_default() {
								if tx.send(Some((source, MailEvent::Mail(entry)))).await.is_err() {
									return;
								}
							}
						}
					}
					tokio::time::sleep(pause).await;
				}
			});
		}
		drop(fetched_tx);
		tokio::spawn(async move {
			for _ in 0..hosts {
				if fetched_rx.recv().await.is_none() {
					break;
				}
			}
			let _ = tx.send(None).await;
		});
		Ok((rx, accepted, mailboxes))
	}

	async fn on_event(
		&self,
		source: Source,
		event: MailEvent<BlockNumber>,
		reading: &mut Reading,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) {
		match event {
			MailEvent::Mail(entry) => {
				let hash = hash_of(&entry.envelope);
				match reading.tracked.get_mut(&hash) {
					// Another host's copy (or a re-delivery after its anchor) may say more.
					Some(t) => {
						if let Some(membership) = claimed(&entry.notarization) {
							t.claim(source, membership);
						}
						reading.delivered_by(hash, source);
					}
					None => {
						let first = (Instant::now(), 0);
						self.show(entry, source, first, reading, on_update).await
					}
				}
			}
			MailEvent::Anchored { hash, membership, .. } => {
				if let Some(t) = reading.tracked.get_mut(&hash) {
					t.claim(source, membership);
				}
			}
			// The chain decides: `advance` reads it once finality passes the anchor's block.
			MailEvent::Final { .. } => {}
			MailEvent::Dropped { hash } => {
				if let Some(t) = reading.tracked.get_mut(&hash) {
					t.dropped = true;
				}
			}
			// `mail_events` fetches the mailbox again.
			MailEvent::Missed => {}
		}
	}

	/// Opens `entry` and shows it; mail that may open later is kept to be tried again,
	/// while its time and its sender's share last. `tried` is when it was first seen and
	/// how often it was tried again since.
	async fn show(
		&self,
		entry: MailboxEntry,
		source: Source,
		tried: (Instant, u32),
		reading: &mut Reading,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) {
		let hash = hash_of(&entry.envelope);
		// Mail this device acknowledged was read here before; hosts keep it for the
		// account's other devices, and until they hear that this one has it.
		let had = self.store.acknowledged(&hash);
		if had && reading.acknowledge {
			reading.untold.add(source, hash);
		}
		reading.delivered_by(hash, source);
		if had || reading.tracked.contains_key(&hash) || reading.done.contains(&hash) {
			return;
		}
		match self.open_mail(&entry).await {
			Ok(received) => {
				let own =
					received.letter().is_some_and(|(opened, _)| opened.device == self.device_key());
				if !own {
					reading.letters += usize::from(received.letter().is_some());
					on_update(&Update::Shown(received.clone()));
				}
				let mut tracked = Tracked {
					received,
					shown_at: Instant::now(),
					dropped: false,
					check: false,
					claims: Vec::new(),
					sources: vec![source],
					acknowledged: false,
					own,
				};
				// A claim the chain did not confirm yet is tried again as it advances.
				if let Some(membership) = claimed(&entry.notarization) {
					tracked.claim(source, membership);
				}
				reading.tracked.insert(hash, tracked);
			}
			Err(error) if error.may_resolve() => {
				// Only an envelope that parsed may resolve: its sender is known.
				let Ok((envelope, _)) = seal::parse(&entry.envelope) else { return };
				let (since, attempts) = tried;
				let retry =
					Retry { item: (entry, source), sender: envelope.sender, since, attempts };
				if reading.retries.keep(retry, Instant::now()).is_err() {
					on_update(&Update::Rejected { hash, error });
				}
			}
			Err(error) => {
				if reading.acknowledge && error.is_for_good() {
					reading.untold.add(source, hash);
				}
				on_update(&Update::Rejected { hash, error })
			}
		}
	}

	/// Reads the chain for the messages whose notarization may have advanced: those a host
	/// said are anchored, those anchored in a block finality has now passed, and those
	/// pending past their deadline. Everything else costs nothing per pass. A message taken
	/// as not notarized is forgotten from the local store (its message key), unless this
	/// device sent it.
	async fn advance(&self, reading: &mut Reading, on_update: &mut (dyn FnMut(&Update) + Send)) {
		// Nothing to advance: an idle reader costs its node no call per tick, and no
		// message's time runs while there is none.
		if reading.tracked.is_empty() && reading.retries.is_empty() {
			reading.chain_answered = Some(Instant::now());
			return;
		}
		let Ok(finalized) = self.chain.finalized().await else { return };
		// While the chain did not answer no message's time ran: a reader whose node
		// restarts (and syncs) does not take the anchors it could not see as missing, nor
		// give up on mail it could not check.
		let now = Instant::now();
		if let Some(last) = reading.chain_answered.replace(now) {
			if now.saturating_duration_since(last) > CHAIN_STALL {
				for t in reading.tracked.values_mut() {
					let away = now.saturating_duration_since(t.shown_at.max(last));
					t.shown_at = t.shown_at.checked_add(away).unwrap_or(t.shown_at);
				}
				reading.retries.postpone(last, now);
			}
		}
		let overdue = |t: &Tracked| t.dropped || t.shown_at.elapsed() >= NOT_NOTARIZED_AFTER;
		let due = |t: &Tracked| match t.received.notarization {
			Notarization::Final(_) | Notarization::NotNotarized => false,
			Notarization::Anchored(block) => finalized >= block || t.check,
			Notarization::Pending => t.check || overdue(t),
		};
		// Every anchor this pass needs, in one read per block kind.
		let keys: Vec<(AccountId32, H256)> = reading
			.tracked
			.values()
			.filter(|t| due(t))
			.flat_map(|t| {
				candidates(&t.received, &t.claimed())
					.into_iter()
					.map(|m| (t.received.sender.clone(), m.root))
			})
			.collect();
		// A node catching up (it just restarted) may not have an anchor yet: nothing is
		// taken as not notarized until it has caught up.
		let may_give_up = reading
			.tracked
			.values()
			.any(|t| t.received.notarization == Notarization::Pending && overdue(t));
		let catching_up = may_give_up && self.chain.is_syncing().await.unwrap_or(true);
		let mut reads = AnchorReads::default();
		for at in [At::Finalized, At::Best] {
			if reads.prefetch(&self.chain, keys.clone(), at).await.is_err() {
				return;
			}
		}
		for t in reading.tracked.values_mut() {
			let before = t.received.notarization;
			let overdue = overdue(t);
			if !due(t) {
				continue;
			}
			let claimed = t.claimed();
			match self.check_with(&mut t.received, &claimed, &mut reads).await {
				Ok(()) => {}
				Err(error) if error.may_resolve() => continue,
				Err(error) => {
					let hash = t.received.hash;
					if reading.acknowledge && error.is_for_good() {
						for source in &t.sources {
							reading.untold.add(*source, hash);
						}
					}
					t.received.notarization = Notarization::NotNotarized;
					self.forget_unless_own(t);
					on_update(&Update::Rejected { hash, error });
					continue;
				}
			}
			let pending = t.received.notarization == Notarization::Pending;
			if !pending {
				t.claims.clear();
			}
			// A host saw the anchor before this node did: look again next pass.
			t.check = pending && !t.claims.is_empty();
			if pending && overdue && !catching_up {
				t.received.notarization = Notarization::NotNotarized;
				self.forget_unless_own(t);
			}
			if t.received.notarization != before && !t.own {
				on_update(&Update::Notarized {
					hash: t.received.hash,
					notarization: t.received.notarization,
				});
			}
		}
	}

	/// Forgets a message that will not be notarized from the local store, unless this
	/// device sent it (then it stays for its sender to see and send again, marked so).
	fn forget_unless_own(&self, t: &mut Tracked) {
		(t.claims, t.check) = (Vec::new(), false);
		// Nothing is lost if these fail: an unanchored message's key is all there is, and
		// its state is shown by the session.
		if t.own {
			let _ = self.database.set_state(&t.received.hash, &MessageState::NotNotarized);
		} else {
			let _ = self.store.forget(&t.received.hash);
		}
	}
}
