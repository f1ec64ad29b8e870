//! Requests and blocks: a conversation someone who is not a contact started is a request
//! until this account accepts it (names them, or answers), and an account blocked is
//! refused every conversation it tries to start. Requesters and blocked accounts are sealed
//! or kept as keyed hashes, like the rest.

use super::{sql, Database, DatabaseError};
use quarks_primitives::GroupId;
use rusqlite::{params, OptionalExtension};
use sp_core::crypto::AccountId32;

/// The schema of requests and blocks (the database's fourth version).
pub(super) const MIGRATION: &str = "
	CREATE TABLE requests (
		grp INTEGER PRIMARY KEY REFERENCES conversations(grp),
		sealed BLOB NOT NULL
	);
	CREATE TABLE blocked (peer_tag BLOB PRIMARY KEY);
";

fn label(group: GroupId) -> Vec<u8> {
	[&b"request"[..], &group.to_le_bytes()].concat()
}

impl Database {
	/// Records `group` (a known conversation) as a request from `from`.
	pub fn add_request(&self, group: GroupId, from: &AccountId32) -> Result<(), DatabaseError> {
		let sealed = self.seal(&label(group), from)?;
		self.connection.lock().execute(
			"INSERT OR REPLACE INTO requests (grp, sealed) VALUES (?1, ?2)",
			params![sql(group), sealed],
		)?;
		Ok(())
	}

	/// Who asked for `group`, if it is a request not accepted yet.
	pub fn request(&self, group: GroupId) -> Result<Option<AccountId32>, DatabaseError> {
		let sealed: Option<Vec<u8>> = self
			.connection
			.lock()
			.query_row("SELECT sealed FROM requests WHERE grp = ?1", [sql(group)], |row| row.get(0))
			.optional()?;
		sealed.map(|sealed| self.open_sealed(&label(group), &sealed)).transpose()
	}

	/// Accepts the request of `group`; returns whether there was one.
	pub fn accept(&self, group: GroupId) -> Result<bool, DatabaseError> {
		let removed =
			self.connection.lock().execute("DELETE FROM requests WHERE grp = ?1", [sql(group)])?;
		Ok(removed > 0)
	}

	/// Accepts every request from `from`; returns how many there were.
	pub fn accept_from(&self, from: &AccountId32) -> Result<usize, DatabaseError> {
		let groups: Vec<i64> = {
			let connection = self.connection.lock();
			let mut statement = connection.prepare("SELECT grp FROM requests")?;
			let groups = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
			groups
		};
		let mut accepted = 0;
		for group in groups {
			let group = super::unsql(group);
			if self.request(group)?.as_ref() == Some(from) && self.accept(group)? {
				accepted += 1;
			}
		}
		Ok(accepted)
	}

	/// Blocks `who`: no conversation they start is joined.
	pub fn block(&self, who: &AccountId32) -> Result<(), DatabaseError> {
		let tag = self.peer_tag(who).to_vec();
		self.connection.lock().execute("INSERT OR IGNORE INTO blocked VALUES (?1)", [tag])?;
		Ok(())
	}

	/// Unblocks `who`; returns whether they were blocked.
	pub fn unblock(&self, who: &AccountId32) -> Result<bool, DatabaseError> {
		let tag = self.peer_tag(who).to_vec();
		Ok(self.connection.lock().execute("DELETE FROM blocked WHERE peer_tag = ?1", [tag])? > 0)
	}

	/// Whether `who` is blocked.
	pub fn is_blocked(&self, who: &AccountId32) -> Result<bool, DatabaseError> {
		let tag = self.peer_tag(who).to_vec();
		let found: Option<i64> = self
			.connection
			.lock()
			.query_row("SELECT 1 FROM blocked WHERE peer_tag = ?1", [tag], |row| row.get(0))
			.optional()?;
		Ok(found.is_some())
	}
}

#[cfg(test)]
mod tests {
	use super::super::Database;
	use super::*;

	#[test]
	fn a_request_stays_until_accepted_and_blocks_are_per_account() {
		let db = Database::in_memory([7; 32]).expect("opens");
		let (mallory, eve) = (AccountId32::new([6; 32]), AccountId32::new([5; 32]));
		for group in [3, 4, 5] {
			db.add_conversation(group, None, 0).expect("adds");
		}
		db.add_request(3, &mallory).expect("records");
		db.add_request(4, &mallory).expect("records");
		db.add_request(5, &eve).expect("records");
		assert_eq!(db.request(3).expect("reads"), Some(mallory.clone()));
		let listed: Vec<_> =
			db.conversations().expect("lists").into_iter().map(|c| c.request).collect();
		assert_eq!(listed.iter().filter(|r| r.as_ref() == Some(&mallory)).count(), 2);
		assert!(db.accept(3).expect("accepts"));
		assert!(!db.accept(3).expect("accepts"), "once");
		assert_eq!(db.accept_from(&eve).expect("accepts"), 1);
		assert_eq!(
			(db.request(4).expect("reads"), db.request(5).expect("reads")),
			(Some(mallory.clone()), None)
		);
		assert!(!db.is_blocked(&mallory).expect("reads"));
		db.block(&mallory).expect("blocks");
		db.block(&mallory).expect("blocking twice is no error");
		assert!(db.is_blocked(&mallory).expect("reads") && !db.is_blocked(&eve).expect("reads"));
		assert!(db.unblock(&mallory).expect("unblocks"));
		assert!(!db.is_blocked(&mallory).expect("reads"));
	}
}
