//! Delivery as the chain proves it: which recipients' receipts for this account's messages
//! are on chain. A recipient is kept as a keyed hash of its account, like a reader; a
//! message whose every recipient acknowledged it is marked so, and no longer looked up; the
//! others are looked up in turn, the one looked at longest ago first.

use super::{hashes, sql, Database, DatabaseError};
use rusqlite::params;
use sp_core::{crypto::AccountId32, H256};

/// The schema of deliveries (the database's fifth version).
pub(super) const MIGRATION: &str = "
	ALTER TABLE messages ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE messages ADD COLUMN delivery_checked INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX undelivered ON messages(delivery_checked, at)
		WHERE outgoing = 1 AND delivered = 0;
	CREATE TABLE deliveries (
		hash BLOB NOT NULL REFERENCES messages(hash),
		recipient_tag BLOB NOT NULL,
		PRIMARY KEY (hash, recipient_tag)
	);
";

impl Database {
	/// Records that the chain holds `recipient`'s receipt for this account's message
	/// `hash` (another's message is ignored). Returns whether it was new.
	pub fn record_delivery(
		&self,
		hash: &H256,
		recipient: &AccountId32,
	) -> Result<bool, DatabaseError> {
		let tag = self.peer_tag(recipient).to_vec();
		let connection = self.connection.lock();
		let added = connection.execute(
			"INSERT OR IGNORE INTO deliveries (hash, recipient_tag)
			 SELECT hash, ?2 FROM messages WHERE hash = ?1 AND outgoing = 1",
			params![hash.as_bytes(), tag],
		)?;
		Ok(added > 0)
	}

	/// Up to `limit` of this account's final messages, sent after `since` (milliseconds
	/// since the Unix epoch), that some recipient has not acknowledged yet: those looked up
	/// longest ago first ([`Self::set_delivery_checked`]), then the latest.
	pub fn undelivered(&self, since: u64, limit: u32) -> Result<Vec<H256>, DatabaseError> {
		let connection = self.connection.lock();
		let mut statement = connection.prepare_cached(
			"SELECT hash FROM messages WHERE outgoing = 1 AND delivered = 0 AND state = 3
			 AND at > ?1 ORDER BY delivery_checked, at DESC, hash DESC LIMIT ?2",
		)?;
		hashes(&mut statement, params![sql(since), limit])
	}

	/// Notes that message `hash`'s receipts were looked up at `now` (milliseconds since
	/// the Unix epoch): the others' turn comes first.
	pub fn set_delivery_checked(&self, hash: &H256, now: u64) -> Result<(), DatabaseError> {
		let connection = self.connection.lock();
		connection.execute(
			"UPDATE messages SET delivery_checked = ?2 WHERE hash = ?1",
			params![hash.as_bytes(), sql(now)],
		)?;
		Ok(())
	}

	/// Marks message `hash` delivered to every recipient: it is not looked up again.
	pub fn set_delivered(&self, hash: &H256) -> Result<(), DatabaseError> {
		let connection = self.connection.lock();
		connection
			.execute("UPDATE messages SET delivered = 1 WHERE hash = ?1", [hash.as_bytes()])?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::super::{tests::message, Database, MessageState};
	use super::*;

	#[test]
	fn deliveries_count_once_per_recipient_of_own_final_messages() {
		let db = Database::in_memory([7; 32]).expect("opens");
		db.add_conversation(3, None, 0).expect("adds");
		let final_ = |hash, outgoing, at| {
			let mut m = message(hash, 3, outgoing, at, "m");
			m.state = MessageState::Final(5);
			m
		};
		db.record(&final_(1, true, 10)).expect("records");
		db.record(&final_(2, false, 20)).expect("records");
		db.record(&message(3, 3, true, 30, "still pending")).expect("records");
		db.record(&final_(4, true, 40)).expect("records");
		let (mine, older) = (H256::repeat_byte(4), H256::repeat_byte(1));
		assert_eq!(db.undelivered(0, 10).expect("reads"), [mine, older], "own final ones");
		assert_eq!(db.undelivered(10, 10).expect("reads"), [mine], "sent after `since`");
		assert_eq!(db.undelivered(0, 1).expect("reads"), [mine], "up to the limit");

		let (bob, carol) = (AccountId32::new([2; 32]), AccountId32::new([3; 32]));
		assert!(db.record_delivery(&mine, &bob).expect("records"));
		assert!(!db.record_delivery(&mine, &bob).expect("records"), "once per recipient");
		assert!(db.record_delivery(&mine, &carol).expect("records"));
		assert!(!db.record_delivery(&H256::repeat_byte(2), &bob).expect("records"), "not mine");
		assert!(!db.record_delivery(&H256::repeat_byte(9), &bob).expect("records"), "unknown");
		let counts: Vec<u32> =
			db.history(3, None, 10).expect("reads").iter().map(|m| m.delivered_to).collect();
		assert_eq!(counts, [0, 0, 0, 2]);

		db.set_delivery_checked(&mine, 100).expect("sets");
		assert_eq!(db.undelivered(0, 1).expect("reads"), [older], "the other's turn first");
		db.set_delivery_checked(&older, 200).expect("sets");
		assert_eq!(db.undelivered(0, 1).expect("reads"), [mine], "then this one's again");
		db.set_delivered(&mine).expect("sets");
		assert_eq!(db.undelivered(0, 10).expect("reads"), [older], "every recipient's is in");
	}
}
