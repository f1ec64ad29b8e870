//! Read receipts: which of this device's messages others read, and which received messages
//! this device has yet to tell their senders it read. A reader is kept as a keyed hash of
//! its account, like a 1:1 conversation's peer.

use super::{hashes, sql, Database, DatabaseError};
use quarks_primitives::GroupId;
use rusqlite::{params, OptionalExtension};
use sp_core::{crypto::AccountId32, H256};

/// The schema of read receipts (the database's third version).
pub(super) const MIGRATION: &str = "
	ALTER TABLE messages ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE reads (
		hash BLOB NOT NULL REFERENCES messages(hash),
		reader_tag BLOB NOT NULL,
		PRIMARY KEY (hash, reader_tag)
	);
";

impl Database {
	/// Records that `reader` read this account's message `hash` of `group`; a receipt for
	/// a message of another conversation, or not this account's, is ignored. Returns
	/// whether it was new.
	pub fn record_read(
		&self,
		group: GroupId,
		hash: &H256,
		reader: &AccountId32,
	) -> Result<bool, DatabaseError> {
		let tag = self.peer_tag(reader).to_vec();
		let connection = self.connection.lock();
		let own: Option<bool> = connection
			.query_row(
				"SELECT outgoing FROM messages WHERE hash = ?1 AND grp = ?2",
				params![hash.as_bytes(), sql(group)],
				|row| row.get(0),
			)
			.optional()?;
		if own != Some(true) {
			return Ok(false);
		}
		let added = connection.execute(
			"INSERT OR IGNORE INTO reads (hash, reader_tag) VALUES (?1, ?2)",
			params![hash.as_bytes(), tag],
		)?;
		Ok(added > 0)
	}

	/// Up to `limit` received messages of `group` whose senders were not told yet that
	/// this device read them, the latest first.
	pub fn unreported_reads(&self, group: GroupId, limit: u32) -> Result<Vec<H256>, DatabaseError> {
		let connection = self.connection.lock();
		let mut statement = connection.prepare_cached(
			"SELECT hash FROM messages WHERE grp = ?1 AND outgoing = 0 AND reported = 0
			 ORDER BY at DESC, hash DESC LIMIT ?2",
		)?;
		hashes(&mut statement, params![sql(group), limit])
	}

	/// Marks received messages `hashes` as reported read.
	pub fn set_reported(&self, hashes: &[H256]) -> Result<(), DatabaseError> {
		let connection = self.connection.lock();
		let mut statement = connection
			.prepare_cached("UPDATE messages SET reported = 1 WHERE hash = ?1 AND outgoing = 0")?;
		for hash in hashes {
			statement.execute([hash.as_bytes()])?;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::super::{tests::message, Database};
	use super::*;

	#[test]
	fn a_receipt_counts_once_per_reader_and_only_for_own_messages_of_its_conversation() {
		let db = Database::in_memory([7; 32]).expect("opens");
		db.add_conversation(3, None, 0).expect("adds");
		db.add_conversation(4, None, 0).expect("adds");
		db.record(&message(1, 3, true, 10, "mine")).expect("records");
		db.record(&message(2, 3, false, 20, "theirs")).expect("records");
		let (bob, carol) = (AccountId32::new([2; 32]), AccountId32::new([3; 32]));
		let mine = H256::repeat_byte(1);
		assert!(db.record_read(3, &mine, &bob).expect("records"));
		assert!(!db.record_read(3, &mine, &bob).expect("records"), "once per reader");
		assert!(db.record_read(3, &mine, &carol).expect("records"));
		assert!(!db.record_read(4, &mine, &bob).expect("records"), "another conversation");
		assert!(!db.record_read(3, &H256::repeat_byte(2), &bob).expect("records"), "not mine");
		assert!(!db.record_read(3, &H256::repeat_byte(9), &bob).expect("records"), "unknown");
		let reads: Vec<u32> =
			db.history(3, None, 10).expect("reads").iter().map(|m| m.read_by).collect();
		assert_eq!(reads, [2, 0]);
	}

	#[test]
	fn received_messages_are_reported_read_once() {
		let db = Database::in_memory([7; 32]).expect("opens");
		db.add_conversation(3, None, 0).expect("adds");
		for (hash, outgoing, at) in [(1, false, 10), (2, true, 20), (3, false, 30)] {
			db.record(&message(hash, 3, outgoing, at, "m")).expect("records");
		}
		let latest = db.unreported_reads(3, 1).expect("reads");
		assert_eq!(latest, [H256::repeat_byte(3)], "the latest first, up to the limit");
		assert_eq!(db.unreported_reads(3, 10).expect("reads").len(), 2, "only received ones");
		db.set_reported(&latest).expect("sets");
		assert_eq!(db.unreported_reads(3, 10).expect("reads"), [H256::repeat_byte(1)]);
		db.set_reported(&[H256::repeat_byte(1), H256::repeat_byte(2)]).expect("sets");
		assert!(db.unreported_reads(3, 10).expect("reads").is_empty(), "own ones never count");
		db.record(&message(4, 3, false, 40, "new")).expect("records");
		assert_eq!(db.unreported_reads(3, 10).expect("reads"), [H256::repeat_byte(4)]);
	}
}
