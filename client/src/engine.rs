//! The engine every long-running front end runs on — the terminal chat and `quarks serve`
//! alike: the follow loop that reads mail (receipts, group sync, key updates) and survives
//! its node or hosts going away, the chain's receipts for what this account sent, a
//! [`Notary`] that anchors what is sent, and a resend of what no node took yet. Front ends
//! read the message database and react to [`Event`]s; nothing they show waits for a block.

use crate::{
	database::{Message, MessageState},
	error::{ClientError, ReadError},
	inbox::{Notarization, ReadOptions, Update},
	messenger::Messenger,
	seal::Content,
	send::{now_ms, Notary, Sent},
};
use quarks_primitives::{Destination, GroupId};
use sp_core::{crypto::AccountId32, H256};
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, Mutex, Notify};

/// How often messages no node accepted are handed to a node again.
const RESEND_EVERY: Duration = Duration::from_secs(10);
/// How often the chain is read for receipts of what this account sent.
const DELIVERIES_EVERY: Duration = Duration::from_secs(5);
/// How often the nodes' disagreements are looked at.
const DISAGREEMENTS_EVERY: Duration = Duration::from_secs(1);
/// The longest pause before a mail stream that ended is opened again.
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(16);

/// What a front end reacts to.
#[derive(Clone, Debug)]
pub enum Event {
	/// A letter arrived and passed every check; it is not anchored yet, so it is in
	/// memory only (unpaid mail is not written to disk) until the database has it.
	Arrived(Message),
	/// A letter shown pending was never anchored.
	Dropped(H256),
	/// Something in the database may have changed.
	Changed,
	/// A sentence for the person: what failed and what happens next.
	Notice(String),
}

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
	/// A conversation this device is in.
	Group(GroupId),
	/// Someone, in the 1:1 conversation with them (the first message starts it).
	Person(AccountId32),
}

/// One identity's engine; every task it started ends with the last handle.
pub struct Engine {
	messenger: Arc<Messenger>,
	notary: Notary,
	events: mpsc::UnboundedSender<Event>,
	/// Sends one at a time: two messages to someone new start one conversation, not two.
	sending: Mutex<()>,
	/// Tells the follow loop that the account's hosts changed: read from the new ones.
	rehost: Arc<Notify>,
}

impl Engine {
	/// Starts the engine of `messenger`, reading group changes every `sync_every`; its
	/// events come out of the receiver.
	pub fn start(
		messenger: Arc<Messenger>,
		sync_every: Duration,
	) -> (Arc<Engine>, mpsc::UnboundedReceiver<Event>) {
		let (events, rx) = mpsc::unbounded_channel();
		let engine = Arc::new(Engine {
			notary: Notary::start(messenger.clone()),
			messenger,
			events,
			sending: Mutex::new(()),
			rehost: Arc::default(),
		});
		let m = engine.messenger.clone();
		tokio::spawn(follow(m, engine.events.clone(), sync_every, engine.rehost.clone()));
		tokio::spawn(follow_deliveries(Arc::downgrade(&engine)));
		tokio::spawn(resend(Arc::downgrade(&engine)));
		tokio::spawn(tell_disagreements(Arc::downgrade(&engine)));
		(engine, rx)
	}

	/// The session underneath.
	pub fn messenger(&self) -> &Arc<Messenger> {
		&self.messenger
	}

	/// Sends `text` to `to` and has it anchored after. A message sealed and recorded but
	/// not taken by a node is in the database as sending and goes again by itself; an
	/// error with nothing recorded means nothing was sent.
	pub async fn send(&self, to: &Target, text: &str) -> Result<Sent, ClientError> {
		let _one_at_a_time = self.sending.lock().await;
		let sent = match to {
			Target::Group(group) => self.messenger.send_group(*group, text).await,
			Target::Person(peer) => self.messenger.send_direct(peer, text).await,
		}?;
		self.notarize(sent.clone());
		Ok(sent)
	}

	/// Tells `group`'s other members what this device read there.
	pub async fn send_read(&self, group: GroupId) -> Result<(), ClientError> {
		let _one_at_a_time = self.sending.lock().await;
		if let Some(sent) = self.messenger.send_read(group).await? {
			self.notarize(sent);
		}
		Ok(())
	}

	/// Makes `hosts` the ones that keep this account's mail
	/// ([`Messenger::choose_hosts`]), and reads from them from now on.
	pub async fn choose_hosts(&self, hosts: &[AccountId32]) -> Result<(), ClientError> {
		self.messenger.choose_hosts(hosts, &mut |_| {}).await?;
		self.rehost.notify_one();
		Ok(())
	}

	/// Has the notary anchor `sent` with whatever else is sent meanwhile; the database
	/// follows, and front ends are told.
	fn notarize(&self, sent: Sent) {
		let events = self.events.clone();
		let answer = self.notary.notarize(sent);
		tokio::spawn(async move {
			if let Ok(Err(e)) = answer.await {
				let _ = events.send(Event::Notice(format!("a message was not anchored: {e}")));
			}
			let _ = events.send(Event::Changed);
		});
	}
}

/// Hands to a node again, now and then, what no node took yet; stops with the engine.
async fn resend(engine: std::sync::Weak<Engine>) {
	loop {
		tokio::time::sleep(RESEND_EVERY).await;
		let Some(engine) = engine.upgrade() else { return };
		let _one_at_a_time = engine.sending.lock().await;
		if let Ok(outcomes) = engine.messenger.resend_unsent().await {
			for sent in outcomes.into_iter().filter_map(|(_, outcome)| outcome.ok()) {
				engine.notarize(sent);
			}
		}
	}
}

/// Records the chain's receipts for what this account sent; a node away is tried again at
/// the next pass. Stops with the engine.
async fn follow_deliveries(engine: std::sync::Weak<Engine>) {
	loop {
		tokio::time::sleep(DELIVERIES_EVERY).await;
		let Some(engine) = engine.upgrade() else { return };
		let _ = engine.messenger.check_deliveries().await;
	}
}

/// Tells the person of each node whose answer failed its proof (the next node was asked,
/// and only what was proven believed). Stops with the engine.
async fn tell_disagreements(engine: std::sync::Weak<Engine>) {
	let mut seen = 0;
	loop {
		tokio::time::sleep(DISAGREEMENTS_EVERY).await;
		let Some(engine) = engine.upgrade() else { return };
		let (total, new) = engine.messenger.chain.nodes().disagreements_since(seen);
		seen = total;
		for disagreement in new {
			let _ = engine.events.send(Event::Notice(disagreement.to_string()));
		}
	}
}

/// Follows the mailboxes for as long as the engine runs; a stream that ends (its node or
/// host went away) is opened again after a growing pause, and what arrived meanwhile is
/// read from the hosts first.
async fn follow(
	m: Arc<Messenger>,
	events: mpsc::UnboundedSender<Event>,
	sync_every: Duration,
	rehost: Arc<Notify>,
) {
	let mut pause = Duration::from_millis(500);
	while !events.is_closed() {
		let options = ReadOptions {
			follow: true,
			count: None,
			timeout: None,
			acknowledge: true,
			sync_every: Some(sync_every),
			update_every: Some(Duration::from_secs(86_400)),
		};
		let own = m.account().clone();
		let started = std::time::Instant::now();
		let mut show = |update: &Update| {
			let _ = events.send(event(update, &own));
		};
		let read = m.read_mail(options, &mut show);
		let result = tokio::select! {
			result = read => result,
			// The stream reads the hosts chosen when it opened: open it at the new ones
			// (what arrived meanwhile is fetched from them first, as after any restart).
			_ = rehost.notified() => {
				pause = Duration::from_millis(500);
				continue;
			}
		};
		let why = result.err().map_or_else(|| "the mail stream ended".into(), |e| e.to_string());
		// A stream that ran a while ended on its own: the next pause starts short again.
		if started.elapsed() >= Duration::from_secs(60) {
			pause = Duration::from_millis(500);
		}
		let _ = events.send(Event::Notice(format!("{why}; reconnecting in {pause:?}")));
		tokio::time::sleep(pause).await;
		pause = pause.saturating_mul(2).min(MAX_RECONNECT_PAUSE);
	}
}

/// What a mail update means to a front end.
fn event(update: &Update, own: &AccountId32) -> Event {
	match update {
		Update::Shown(received) => match (received.letter(), &received.leaf.destination) {
			(Some((_, Content::Text(text))), Destination::Group { group, .. }) => {
				Event::Arrived(Message {
					hash: received.hash,
					group: *group,
					sender: received.sender.clone(),
					outgoing: &received.sender == own,
					text: text.clone(),
					at: now_ms(),
					state: MessageState::Pending,
					read_by: 0,
					delivered_to: 0,
				})
			}
			_ => Event::Changed,
		},
		Update::Notarized { hash, notarization: Notarization::NotNotarized } => {
			Event::Dropped(*hash)
		}
		// Nothing of a blocked account is news.
		Update::Rejected { error: ReadError::Blocked(_), .. } => Event::Changed,
		Update::Rejected { hash, error } => Event::Notice(format!(
			"an envelope failed a check and is not shown ({hash:?}): {error}"
		)),
		Update::Left { group } => Event::Notice(format!(
			"you are no longer a member of group {group}: you read nothing sent there now"
		)),
		Update::CommitFailed { group, error } => {
			Event::Notice(format!("group {group}: a commit failed, tried again later: {error}"))
		}
		Update::AcknowledgeFailed(error) => {
			Event::Notice(format!("receipts not sent yet, tried again soon: {error}"))
		}
		_ => Event::Changed,
	}
}
