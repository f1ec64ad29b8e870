//! The local message database: every conversation of this device and every message it
//! sent, or received and saw anchored, in one SQLite file beside the keystore
//! (`<keystore>.db`, mode 0600) — the choice of Signal, SimpleX and XMTP for history, through
//! rusqlite with SQLite compiled in, so a fresh machine needs no system library.
//!
//! What would tell who talks to whom and what was said — peers' accounts, senders, bodies,
//! failure reasons — is sealed value by value under the identity's state key
//! ([`crate::at_rest`], the row's key as associated data, so a value cannot be moved to
//! another row); a 1:1 conversation is found by a keyed hash of the peer's account. Left in
//! the clear: group numbers (public on chain), times, states and counts. SQLCipher would
//! seal the whole file, but needs OpenSSL built on every machine; the state key is here
//! already.
//!
//! Versioned: `PRAGMA user_version` names the schema, and [`MIGRATIONS`] brings an older
//! file up to date in one transaction each.

use crate::{at_rest, BlockNumber};
use codec::{Decode, Encode};
use parking_lot::Mutex;
use quarks_primitives::GroupId;
use rusqlite::{params, Connection, OptionalExtension};
use sp_core::{crypto::AccountId32, H256};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

mod contacts;
mod deliveries;
mod reads;
mod requests;
pub use contacts::{check_name, Contact, NameError, MAX_NAME};

/// Each schema version's statements, in order: the file's `user_version` says how many
/// have run.
const MIGRATIONS: &[&str] = &[
	"
	CREATE TABLE conversations (
		grp INTEGER PRIMARY KEY,
		peer_tag BLOB UNIQUE,
		sealed BLOB NOT NULL,
		unread INTEGER NOT NULL DEFAULT 0,
		last_activity INTEGER NOT NULL
	);
	CREATE TABLE messages (
		hash BLOB PRIMARY KEY,
		grp INTEGER NOT NULL REFERENCES conversations(grp),
		outgoing INTEGER NOT NULL,
		at INTEGER NOT NULL,
		state INTEGER NOT NULL,
		block INTEGER,
		sealed BLOB NOT NULL
	);
	CREATE INDEX messages_in_conversation ON messages(grp, at, hash);
",
	contacts::MIGRATION,
	reads::MIGRATION,
	requests::MIGRATION,
	deliveries::MIGRATION,
];

/// The message hashes a statement selecting one hash column yields, in its order.
fn hashes(
	statement: &mut rusqlite::CachedStatement<'_>,
	params: impl rusqlite::Params,
) -> Result<Vec<H256>, DatabaseError> {
	statement
		.query_map(params, |row| row.get::<_, Vec<u8>>(0))?
		.map(|hash| message_hash(&hash?))
		.collect()
}

/// A message hash as the database keeps it.
fn message_hash(bytes: &[u8]) -> Result<H256, DatabaseError> {
	<[u8; 32]>::try_from(bytes).map(H256).map_err(|_| DatabaseError::Damaged("a message hash"))
}

/// A number as SQLite keeps it (signed 64-bit).
fn sql(value: u64) -> i64 {
	i64::try_from(value).unwrap_or(i64::MAX)
}

/// A number SQLite kept, as written by [`sql`].
fn unsql(value: i64) -> u64 {
	u64::try_from(value).unwrap_or_default()
}

/// Most messages one page of history holds.
pub const MAX_PAGE: u32 = 1000;

/// What the database failed at.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
	/// SQLite refused or failed.
	#[error("the message database: {0}")]
	Sqlite(#[from] rusqlite::Error),
	/// A sealed value did not open under this identity's key, or did not decode.
	#[error("the message database holds a value this identity cannot read: {0}")]
	Damaged(&'static str),
	/// The file was written by a newer client.
	#[error("the message database is at schema {0}, newer than this client's")]
	Newer(u32),
	/// A contact's name was refused.
	#[error(transparent)]
	Name(#[from] NameError),
	/// Its file could not be made private.
	#[error("the message database file: {0}")]
	File(#[from] std::io::Error),
}

/// Where a message stands, as this device last saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageState {
	/// Not yet accepted by a node.
	Sending,
	/// Delivered; its anchor not seen yet.
	Pending,
	/// Its anchor is in this block of the best chain.
	Anchored(BlockNumber),
	/// Its anchor is in this finalized block.
	Final(BlockNumber),
	/// No anchor came: it was never notarized.
	NotNotarized,
	/// It could not be sent, for this reason.
	Failed(String),
}

impl MessageState {
	/// The state's code and block, for its columns.
	fn columns(&self) -> (u8, Option<BlockNumber>) {
		match self {
			Self::Sending => (0, None),
			Self::Pending => (1, None),
			Self::Anchored(block) => (2, Some(*block)),
			Self::Final(block) => (3, Some(*block)),
			Self::NotNotarized => (4, None),
			Self::Failed(_) => (5, None),
		}
	}

	fn from_columns(
		code: u8,
		block: Option<BlockNumber>,
		reason: String,
	) -> Result<Self, DatabaseError> {
		Ok(match (code, block) {
			(0, _) => Self::Sending,
			(1, _) => Self::Pending,
			(2, Some(block)) => Self::Anchored(block),
			(3, Some(block)) => Self::Final(block),
			(4, _) => Self::NotNotarized,
			(5, _) => Self::Failed(reason),
			_ => return Err(DatabaseError::Damaged("a message state")),
		})
	}

	/// Whether `self` may follow `earlier`: states only move forward (a late answer does not
	/// take a final message back to pending); a send fails, and is tried again.
	fn follows(&self, earlier: &Self) -> bool {
		let rank = |state: &Self| match state {
			Self::Sending | Self::Failed(_) => 0,
			Self::Pending => 1,
			Self::Anchored(_) | Self::NotNotarized => 2,
			Self::Final(_) => 3,
		};
		rank(self) > rank(earlier)
			|| matches!(
				(earlier, self),
				(Self::Sending, Self::Failed(_)) | (Self::Failed(_), Self::Sending)
			)
	}
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
	/// Its envelope's hash.
	pub hash: H256,
	/// The conversation's group.
	pub group: GroupId,
	/// Its sender.
	pub sender: AccountId32,
	/// Whether this account sent it.
	pub outgoing: bool,
	/// What it says.
	pub text: String,
	/// When this device sent or received it, in milliseconds since the Unix epoch.
	pub at: u64,
	/// Where it stands.
	pub state: MessageState,
	/// How many others told this device they read it (this account's messages only).
	pub read_by: u32,
	/// How many recipients' receipts for it the chain holds (this account's messages only).
	pub delivered_to: u32,
}

/// One conversation, with its latest message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
	/// Its group on chain.
	pub group: GroupId,
	/// The other account, for a 1:1 conversation.
	pub peer: Option<AccountId32>,
	/// Messages received and not read yet.
	pub unread: u32,
	/// When a message was last sent or received, in milliseconds since the Unix epoch.
	pub last_activity: u64,
	/// The latest message.
	pub last: Option<Message>,
	/// Who started it, while it is a request this account has not accepted.
	pub request: Option<AccountId32>,
}

/// Where a page of history ends: the oldest message of the page before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Before {
	/// Its time.
	pub at: u64,
	/// Its hash.
	pub hash: H256,
}

/// A conversation's sealed values.
#[derive(Encode, Decode)]
struct ConversationSecrets {
	peer: Option<AccountId32>,
}

/// A message's sealed values.
#[derive(Encode, Decode)]
struct MessageSecrets {
	sender: AccountId32,
	text: String,
	reason: String,
}

/// The message database of one identity.
pub struct Database {
	connection: Mutex<Connection>,
	key: Zeroizing<[u8; 32]>,
}

impl Database {
	/// The database beside keystore `keystore`: `<keystore>.db`, its values sealed under
	/// `key`.
	pub fn beside(keystore: &Path, key: [u8; 32]) -> Result<Self, DatabaseError> {
		let mut name = keystore.as_os_str().to_owned();
		name.push(".db");
		Self::open(&PathBuf::from(name), key)
	}

	/// Opens (or creates) the database at `path` and brings its schema up to date.
	pub fn open(path: &Path, key: [u8; 32]) -> Result<Self, DatabaseError> {
		let created = !path.exists();
		let connection = Connection::open(path)?;
		if created {
			use std::os::unix::fs::PermissionsExt;
			std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
		}
		Self::with(connection, key)
	}

	/// A database in memory only.
	pub fn in_memory(key: [u8; 32]) -> Result<Self, DatabaseError> {
		Self::with(Connection::open_in_memory()?, key)
	}

	fn with(mut connection: Connection, key: [u8; 32]) -> Result<Self, DatabaseError> {
		// Durable once a transaction returns, and readers do not wait for writers.
		connection.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
		connection.pragma_update(None, "synchronous", "FULL")?;
		connection.pragma_update(None, "foreign_keys", "ON")?;
		let version: u32 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
		let latest = MIGRATIONS.len() as u32;
		if version > latest {
			return Err(DatabaseError::Newer(version));
		}
		for (done, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
			let tx = connection.transaction()?;
			tx.execute_batch(migration)?;
			tx.pragma_update(None, "user_version", done as u32 + 1)?;
			tx.commit()?;
		}
		Ok(Self { connection: Mutex::new(connection), key: Zeroizing::new(key) })
	}

	fn seal(&self, label: &[u8], value: &impl Encode) -> Result<Vec<u8>, DatabaseError> {
		at_rest::seal(&self.key, label, &value.encode())
			.map_err(|_| DatabaseError::Damaged("sealing"))
	}

	fn open_sealed<T: Decode>(&self, label: &[u8], sealed: &[u8]) -> Result<T, DatabaseError> {
		let plain = at_rest::open(&self.key, label, sealed)
			.map_err(|_| DatabaseError::Damaged("a sealed value"))?;
		T::decode(&mut &plain[..]).map_err(|_| DatabaseError::Damaged("a sealed value"))
	}

	/// The keyed hash a 1:1 conversation is found by: the peer's account is not in the
	/// clear, and without the key its tag names nobody.
	fn peer_tag(&self, peer: &AccountId32) -> [u8; 32] {
		self.tag(b"quarks/db/peer", peer.as_ref())
	}

	/// `value`'s keyed BLAKE2b hash for `purpose`.
	fn tag(&self, purpose: &[u8], value: &[u8]) -> [u8; 32] {
		use blake2::{digest::consts::U32, digest::Mac, Blake2bMac};
		let mut mac = <Blake2bMac<U32> as Mac>::new_from_slice(&self.key[..])
			.expect("a 32-byte key suits BLAKE2b");
		mac.update(purpose);
		mac.update(value);
		mac.finalize().into_bytes().into()
	}

	/// Records `group` as a conversation (1:1 with `peer` if given), if it is not one yet.
	pub fn add_conversation(
		&self,
		group: GroupId,
		peer: Option<&AccountId32>,
		at: u64,
	) -> Result<(), DatabaseError> {
		let connection = self.connection.lock();
		let known: Option<Option<Vec<u8>>> = connection
			.query_row("SELECT peer_tag FROM conversations WHERE grp = ?1", [sql(group)], |row| {
				row.get(0)
			})
			.optional()?;
		// Known as it is: nothing to seal or write (the common case, at every message).
		if matches!((&known, peer), (Some(_), None) | (Some(Some(_)), Some(_))) {
			return Ok(());
		}
		let sealed =
			self.seal(&group.to_le_bytes(), &ConversationSecrets { peer: peer.cloned() })?;
		let tag = peer.map(|peer| self.peer_tag(peer).to_vec());
		match known {
			None => {
				// A 1:1 conversation moves to a new group when the old one is left behind.
				if let Some(tag) = &tag {
					connection.execute(
						"UPDATE conversations SET peer_tag = NULL WHERE peer_tag = ?1",
						[tag],
					)?;
				}
				connection.execute(
					"INSERT INTO conversations (grp, peer_tag, sealed, last_activity) VALUES (?1, ?2, ?3, ?4)",
					params![sql(group), tag, sealed, sql(at)],
				)?;
			}
			// A group learnt of before its peer was known.
			Some(_) => {
				connection.execute(
					"UPDATE conversations SET peer_tag = ?2, sealed = ?3 WHERE grp = ?1",
					params![sql(group), tag, sealed],
				)?;
			}
		}
		Ok(())
	}

	/// Whether message `hash` is recorded.
	pub fn has_message(&self, hash: &H256) -> Result<bool, DatabaseError> {
		let found: Option<i64> = self
			.connection
			.lock()
			.query_row("SELECT 1 FROM messages WHERE hash = ?1", [hash.as_bytes()], |row| {
				row.get(0)
			})
			.optional()?;
		Ok(found.is_some())
	}

	/// Whether message `hash` is recorded as final.
	pub fn is_final(&self, hash: &H256) -> Result<bool, DatabaseError> {
		let (state, _) = MessageState::Final(0).columns();
		let found: Option<i64> = self
			.connection
			.lock()
			.query_row(
				"SELECT 1 FROM messages WHERE hash = ?1 AND state = ?2",
				params![hash.as_bytes(), state],
				|row| row.get(0),
			)
			.optional()?;
		Ok(found.is_some())
	}

	/// Whether `group` is a known conversation.
	pub fn knows(&self, group: GroupId) -> Result<bool, DatabaseError> {
		let found: Option<i64> = self
			.connection
			.lock()
			.query_row("SELECT 1 FROM conversations WHERE grp = ?1", [sql(group)], |row| row.get(0))
			.optional()?;
		Ok(found.is_some())
	}

	/// The group of the 1:1 conversation with `peer`, if there is one.
	pub fn direct(&self, peer: &AccountId32) -> Result<Option<GroupId>, DatabaseError> {
		let tag = self.peer_tag(peer).to_vec();
		Ok(self
			.connection
			.lock()
			.query_row("SELECT grp FROM conversations WHERE peer_tag = ?1", [tag], |row| {
				row.get::<_, i64>(0)
			})
			.optional()?
			.map(unsql))
	}

	/// Records `message` (its conversation must be known), unless it is recorded already:
	/// then only its state may move on. An incoming message counts as unread. Returns
	/// whether it was new.
	pub fn record(&self, message: &Message) -> Result<bool, DatabaseError> {
		let reason = match &message.state {
			MessageState::Failed(reason) => reason.clone(),
			_ => String::new(),
		};
		let secrets =
			MessageSecrets { sender: message.sender.clone(), text: message.text.clone(), reason };
		let sealed = self.seal(message.hash.as_bytes(), &secrets)?;
		let (state, block) = message.state.columns();
		let mut connection = self.connection.lock();
		let tx = connection.transaction()?;
		let inserted = tx.execute(
			"INSERT OR IGNORE INTO messages (hash, grp, outgoing, at, state, block, sealed)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			params![
				message.hash.as_bytes(),
				sql(message.group),
				message.outgoing,
				sql(message.at),
				state,
				block,
				sealed
			],
		)? == 1;
		if inserted {
			tx.execute(
				"UPDATE conversations SET unread = unread + ?2, last_activity = MAX(last_activity, ?3)
				 WHERE grp = ?1",
				params![sql(message.group), u32::from(!message.outgoing), sql(message.at)],
			)?;
		}
		tx.commit()?;
		drop(connection);
		if !inserted {
			self.set_state(&message.hash, &message.state)?;
		}
		Ok(inserted)
	}

	/// This device's messages that no node accepted yet (sending, or failed), sent after
	/// `since` (milliseconds since the Unix epoch), oldest first.
	pub fn unsent(&self, since: u64) -> Result<Vec<H256>, DatabaseError> {
		let connection = self.connection.lock();
		let mut statement = connection.prepare_cached(
			"SELECT hash FROM messages WHERE outgoing = 1 AND state IN (0, 5) AND at > ?1
			 ORDER BY at, hash",
		)?;
		hashes(&mut statement, [sql(since)])
	}

	/// Moves message `hash` to `state`, if it is recorded and `state` follows its own.
	pub fn set_state(&self, hash: &H256, state: &MessageState) -> Result<(), DatabaseError> {
		let connection = self.connection.lock();
		let Some((code, block, sealed)) = connection
			.query_row(
				"SELECT state, block, sealed FROM messages WHERE hash = ?1",
				[hash.as_bytes()],
				|row| {
					Ok((
						row.get::<_, u8>(0)?,
						row.get::<_, Option<BlockNumber>>(1)?,
						row.get::<_, Vec<u8>>(2)?,
					))
				},
			)
			.optional()?
		else {
			return Ok(());
		};
		let mut secrets: MessageSecrets = self.open_sealed(hash.as_bytes(), &sealed)?;
		let current = MessageState::from_columns(code, block, secrets.reason.clone())?;
		if !state.follows(&current) {
			return Ok(());
		}
		secrets.reason = match state {
			MessageState::Failed(reason) => reason.clone(),
			_ => String::new(),
		};
		let sealed = self.seal(hash.as_bytes(), &secrets)?;
		let (code, block) = state.columns();
		connection.execute(
			"UPDATE messages SET state = ?2, block = ?3, sealed = ?4 WHERE hash = ?1",
			params![hash.as_bytes(), code, block, sealed],
		)?;
		Ok(())
	}

	/// Every conversation, the most recently active first, with its latest message.
	pub fn conversations(&self) -> Result<Vec<Conversation>, DatabaseError> {
		let rows: Vec<(i64, Vec<u8>, u32, i64)> = {
			let connection = self.connection.lock();
			let mut statement = connection.prepare(
				"SELECT grp, sealed, unread, last_activity FROM conversations
				 ORDER BY last_activity DESC, grp DESC",
			)?;
			let rows = statement
				.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
				.collect::<Result<_, _>>()?;
			rows
		};
		rows.into_iter()
			.map(|(group, sealed, unread, last_activity)| {
				let (group, last_activity) = (unsql(group), unsql(last_activity));
				let secrets: ConversationSecrets =
					self.open_sealed(&group.to_le_bytes(), &sealed)?;
				let last = self.history(group, None, 1)?.pop();
				let request = self.request(group)?;
				Ok(Conversation { group, peer: secrets.peer, unread, last_activity, last, request })
			})
			.collect()
	}

	/// Up to `limit` (at most [`MAX_PAGE`]) messages of `group` before `before` (or the
	/// latest), oldest first.
	pub fn history(
		&self,
		group: GroupId,
		before: Option<&Before>,
		limit: u32,
	) -> Result<Vec<Message>, DatabaseError> {
		let (at, hash) = match before {
			Some(before) => (sql(before.at), before.hash.as_bytes().to_vec()),
			// Past every message: the largest time SQLite holds, past every hash.
			None => (i64::MAX, vec![0xff; 33]),
		};
		type Row = (Vec<u8>, bool, i64, u8, Option<BlockNumber>, Vec<u8>, u32, u32);
		let rows: Vec<Row> = {
			let connection = self.connection.lock();
			let mut statement = connection.prepare_cached(
				"SELECT hash, outgoing, at, state, block, sealed,
				 (SELECT COUNT(*) FROM reads WHERE reads.hash = messages.hash),
				 (SELECT COUNT(*) FROM deliveries WHERE deliveries.hash = messages.hash)
				 FROM messages
				 WHERE grp = ?1 AND (at, hash) < (?2, ?3)
				 ORDER BY at DESC, hash DESC LIMIT ?4",
			)?;
			let rows = statement
				.query_map(params![sql(group), at, hash, limit.min(MAX_PAGE)], |row| {
					Ok((
						row.get(0)?,
						row.get(1)?,
						row.get(2)?,
						row.get(3)?,
						row.get(4)?,
						row.get(5)?,
						row.get(6)?,
						row.get(7)?,
					))
				})?
				.collect::<Result<_, _>>()?;
			rows
		};
		let mut page = rows
			.into_iter()
			.map(|(hash, outgoing, at, code, block, sealed, read_by, delivered_to)| {
				let hash = message_hash(&hash)?;
				let secrets: MessageSecrets = self.open_sealed(hash.as_bytes(), &sealed)?;
				Ok(Message {
					hash,
					group,
					sender: secrets.sender,
					outgoing,
					text: secrets.text,
					at: unsql(at),
					state: MessageState::from_columns(code, block, secrets.reason)?,
					read_by,
					delivered_to,
				})
			})
			.collect::<Result<Vec<_>, DatabaseError>>()?;
		page.reverse();
		Ok(page)
	}

	/// Marks every message of `group` read.
	pub fn mark_read(&self, group: GroupId) -> Result<(), DatabaseError> {
		let connection = self.connection.lock();
		connection.execute("UPDATE conversations SET unread = 0 WHERE grp = ?1", [sql(group)])?;
		Ok(())
	}
}

#[cfg(test)]
pub(super) mod tests {
	use super::*;

	pub(super) fn message(
		hash: u8,
		group: GroupId,
		outgoing: bool,
		at: u64,
		text: &str,
	) -> Message {
		Message {
			hash: H256::repeat_byte(hash),
			group,
			sender: AccountId32::new([if outgoing { 1 } else { 2 }; 32]),
			outgoing,
			text: text.into(),
			at,
			state: MessageState::Pending,
			read_by: 0,
			delivered_to: 0,
		}
	}

	#[test]
	fn conversations_list_their_latest_message_and_unread_count() {
		let db = Database::in_memory([7; 32]).expect("opens");
		let bob = AccountId32::new([2; 32]);
		db.add_conversation(3, Some(&bob), 10).expect("adds");
		db.add_conversation(4, None, 20).expect("adds");
		assert_eq!(db.direct(&bob).expect("reads"), Some(3));
		assert!(db.record(&message(1, 3, true, 100, "hello")).expect("records"));
		assert!(db.record(&message(2, 3, false, 200, "hi")).expect("records"));
		assert!(db.record(&message(3, 3, false, 300, "how are you")).expect("records"));
		assert!(!db.record(&message(3, 3, false, 300, "how are you")).expect("again"), "once");
		assert!(db.knows(3).expect("reads") && !db.knows(5).expect("reads"));
		assert!(db.has_message(&H256::repeat_byte(3)).expect("reads"));
		assert!(!db.has_message(&H256::repeat_byte(9)).expect("reads"));
		assert!(db.record(&message(4, 4, false, 250, "group news")).expect("records"));
		let list = db.conversations().expect("lists");
		assert_eq!(list.iter().map(|c| c.group).collect::<Vec<_>>(), [3, 4], "latest first");
		assert_eq!((list[0].peer.as_ref(), list[0].unread), (Some(&bob), 2));
		assert_eq!(list[0].last.as_ref().map(|m| m.text.as_str()), Some("how are you"));
		assert_eq!((list[1].peer.as_ref(), list[1].unread), (None, 1));
		db.mark_read(3).expect("marks");
		assert_eq!(db.conversations().expect("lists")[0].unread, 0);
		// A 1:1 conversation that moved to a new group is found there.
		db.add_conversation(9, Some(&bob), 400).expect("adds");
		assert_eq!(db.direct(&bob).expect("reads"), Some(9));
	}

	#[test]
	fn states_only_move_forward() {
		let db = Database::in_memory([7; 32]).expect("opens");
		db.add_conversation(3, None, 0).expect("adds");
		let mut sent = message(1, 3, true, 1, "hello");
		sent.state = MessageState::Sending;
		db.record(&sent).expect("records");
		let state = |db: &Database| db.history(3, None, 10).expect("reads")[0].state.clone();
		db.set_state(&sent.hash, &MessageState::Failed("node down".into())).expect("sets");
		assert_eq!(state(&db), MessageState::Failed("node down".into()));
		for (next, expected) in [
			(MessageState::Sending, MessageState::Sending),
			(MessageState::Pending, MessageState::Pending),
			(MessageState::Final(9), MessageState::Final(9)),
			// A late answer does not take a final message back.
			(MessageState::Anchored(8), MessageState::Final(9)),
			(MessageState::Pending, MessageState::Final(9)),
			(MessageState::Failed("late".into()), MessageState::Final(9)),
		] {
			db.set_state(&sent.hash, &next).expect("sets");
			assert_eq!(state(&db), expected, "after {next:?}");
		}
		assert_eq!(db.unsent(0).expect("reads"), [] as [H256; 0], "final is sent");
		// Recording it again only moves its state.
		sent.state = MessageState::Anchored(3);
		sent.text = "changed".into();
		assert!(!db.record(&sent).expect("records"));
		assert_eq!(db.history(3, None, 10).expect("reads")[0].text, "hello");
	}

	#[test]
	fn unsent_lists_own_messages_no_node_accepted_since_a_time() {
		let db = Database::in_memory([7; 32]).expect("opens");
		db.add_conversation(3, None, 0).expect("adds");
		let states = [
			(1, true, 10, MessageState::Sending),
			(2, true, 20, MessageState::Failed("node down".into())),
			(3, true, 30, MessageState::Pending),
			(4, false, 40, MessageState::Sending),
			(5, true, 5, MessageState::Failed("long ago".into())),
		];
		for (hash, outgoing, at, state) in states {
			let mut m = message(hash, 3, outgoing, at, "text");
			m.state = state;
			db.record(&m).expect("records");
		}
		let unsent = db.unsent(6).expect("reads");
		assert_eq!(unsent, [H256::repeat_byte(1), H256::repeat_byte(2)]);
	}

	#[test]
	fn history_pages_back_from_the_latest() {
		let db = Database::in_memory([7; 32]).expect("opens");
		db.add_conversation(3, None, 0).expect("adds");
		db.add_conversation(4, None, 0).expect("adds");
		for i in 0..25u8 {
			// Two messages share each time: the hash orders them.
			db.record(&message(i, 3, i % 2 == 0, u64::from(i / 2), &format!("m{i}")))
				.expect("records");
		}
		db.record(&message(100, 4, false, 5, "elsewhere")).expect("records");
		let mut all = Vec::new();
		let mut before = None;
		loop {
			let page = db.history(3, before.as_ref(), 10).expect("pages");
			if page.is_empty() {
				break;
			}
			assert!(page.len() <= 10);
			before = page.first().map(|m| Before { at: m.at, hash: m.hash });
			all.splice(0..0, page);
		}
		let texts: Vec<String> = all.iter().map(|m| m.text.clone()).collect();
		let expected: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
		assert_eq!(texts, expected, "every message once, oldest first");
	}

	#[test]
	fn the_file_keeps_no_account_or_text_in_the_clear_and_opens_only_with_its_key() {
		let dir = tempfile::tempdir().expect("temp dir");
		let keystore = dir.path().join("me.json");
		let bob = AccountId32::new([0xb0; 32]);
		{
			let db = Database::beside(&keystore, [7; 32]).expect("opens");
			db.add_conversation(3, Some(&bob), 0).expect("adds");
			let mut m = message(1, 3, false, 1, "the secret plan");
			m.sender = bob.clone();
			db.record(&m).expect("records");
		}
		let path = dir.path().join("me.json.db");
		use std::os::unix::fs::PermissionsExt;
		assert_eq!(std::fs::metadata(&path).expect("exists").permissions().mode() & 0o777, 0o600);
		let mut bytes = std::fs::read(&path).expect("reads");
		if let Ok(wal) = std::fs::read(dir.path().join("me.json.db-wal")) {
			bytes.extend(wal);
		}
		assert!(!bytes.windows(15).any(|w| w == b"the secret plan"), "a body in the clear");
		assert!(!bytes.windows(32).any(|w| w == [0xb0; 32]), "an account in the clear");
		let reopened = Database::beside(&keystore, [7; 32]).expect("reopens");
		assert_eq!(reopened.history(3, None, 5).expect("reads")[0].text, "the secret plan");
		assert_eq!(reopened.direct(&bob).expect("reads"), Some(3));
		let stranger = Database::beside(&keystore, [8; 32]).expect("opens the file");
		assert!(stranger.history(3, None, 5).is_err(), "another key reads nothing");
		assert_eq!(stranger.direct(&bob).expect("reads"), None, "nor finds the peer");
	}

	#[test]
	fn a_file_from_a_newer_client_is_not_touched() {
		let dir = tempfile::tempdir().expect("temp dir");
		let path = dir.path().join("new.db");
		Connection::open(&path)
			.and_then(|c| c.pragma_update(None, "user_version", 99))
			.expect("writes");
		assert!(matches!(Database::open(&path, [7; 32]), Err(DatabaseError::Newer(99))));
	}
}
