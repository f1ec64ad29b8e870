//! Contacts: the names this device gives accounts, kept in the message database. A name
//! and its account are sealed like the rest; a contact is found by keyed hashes of its
//! account and of its name (folded to lower case), so names are unique without being
//! readable.

use super::{sql, Database, DatabaseError};
use codec::{Decode, Encode};
use rusqlite::{params, OptionalExtension};
use sp_core::crypto::AccountId32;

/// The schema of contacts (the database's second version).
pub(super) const MIGRATION: &str = "
	CREATE TABLE contacts (
		peer_tag BLOB PRIMARY KEY,
		name_tag BLOB UNIQUE NOT NULL,
		added INTEGER NOT NULL,
		sealed BLOB NOT NULL
	);
";

/// The longest name, in characters.
pub const MAX_NAME: usize = 32;

/// An account with the name this device gives it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Contact {
	/// The name.
	pub name: String,
	/// The account.
	pub account: AccountId32,
	/// Their fingerprint (their half of a safety number, [`crate::contacts::fingerprint`])
	/// when it was last checked against an invitation or a comparison: `None` if never.
	pub verified: Option<String>,
}

/// Why a name was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
	/// Empty, too long, or with characters other than letters, digits, `-`, `_` and `.`.
	#[error("a contact name is 1 to {MAX_NAME} letters, digits, '-', '_' or '.': {0:?}")]
	Invalid(String),
	/// It reads as an account or a group number, so it would hide one.
	#[error("{0:?} reads as an account or a group number; choose a name that does not")]
	Ambiguous(String),
	/// Another account has this name.
	#[error("another account is named {0:?}")]
	Taken(String),
}

/// Checks `name` as a contact's name.
pub fn check_name(name: &str) -> Result<(), NameError> {
	let valid = (1..=MAX_NAME).contains(&name.chars().count())
		&& name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
	if !valid {
		return Err(NameError::Invalid(name.into()));
	}
	if name.chars().all(|c| c.is_ascii_digit()) || name.starts_with("0x") {
		return Err(NameError::Ambiguous(name.into()));
	}
	Ok(())
}

impl Database {
	fn name_tag(&self, name: &str) -> [u8; 32] {
		self.tag(b"quarks/db/name", name.to_lowercase().as_bytes())
	}

	/// Names `contact.account` `contact.name` (a new contact, or a new name or verification
	/// of a known one). Refused if another account has the name.
	pub fn save_contact(&self, contact: &Contact, at: u64) -> Result<(), DatabaseError> {
		check_name(&contact.name)?;
		let peer_tag = self.peer_tag(&contact.account).to_vec();
		let name_tag = self.name_tag(&contact.name).to_vec();
		let sealed = self.seal(&peer_tag, contact)?;
		let connection = self.connection.lock();
		let holder: Option<Vec<u8>> = connection
			.query_row("SELECT peer_tag FROM contacts WHERE name_tag = ?1", [&name_tag], |row| {
				row.get(0)
			})
			.optional()?;
		if holder.is_some_and(|holder| holder != peer_tag) {
			return Err(NameError::Taken(contact.name.clone()).into());
		}
		connection.execute(
			"INSERT INTO contacts (peer_tag, name_tag, added, sealed) VALUES (?1, ?2, ?3, ?4)
			 ON CONFLICT (peer_tag) DO UPDATE SET name_tag = ?2, sealed = ?4",
			params![peer_tag, name_tag, sql(at), sealed],
		)?;
		Ok(())
	}

	/// The contact named `name` (in any case).
	pub fn contact_named(&self, name: &str) -> Result<Option<Contact>, DatabaseError> {
		self.contact_where("name_tag", self.name_tag(name))
	}

	/// The contact of `account`, if it has a name.
	pub fn contact_of(&self, account: &AccountId32) -> Result<Option<Contact>, DatabaseError> {
		self.contact_where("peer_tag", self.peer_tag(account))
	}

	fn contact_where(&self, column: &str, tag: [u8; 32]) -> Result<Option<Contact>, DatabaseError> {
		let row: Option<(Vec<u8>, Vec<u8>)> = self
			.connection
			.lock()
			.query_row(
				&format!("SELECT peer_tag, sealed FROM contacts WHERE {column} = ?1"),
				[&tag[..]],
				|row| Ok((row.get(0)?, row.get(1)?)),
			)
			.optional()?;
		row.map(|(peer_tag, sealed)| self.open_sealed(&peer_tag, &sealed)).transpose()
	}

	/// Every contact, by name.
	pub fn contacts(&self) -> Result<Vec<Contact>, DatabaseError> {
		let rows: Vec<(Vec<u8>, Vec<u8>)> = {
			let connection = self.connection.lock();
			let mut statement = connection.prepare("SELECT peer_tag, sealed FROM contacts")?;
			let rows = statement
				.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
				.collect::<Result<_, _>>()?;
			rows
		};
		let mut contacts = rows
			.into_iter()
			.map(|(peer_tag, sealed)| self.open_sealed(&peer_tag, &sealed))
			.collect::<Result<Vec<Contact>, _>>()?;
		contacts.sort_by_key(|c| c.name.to_lowercase());
		Ok(contacts)
	}

	/// Forgets the contact named `name`; returns whether there was one.
	pub fn remove_contact(&self, name: &str) -> Result<bool, DatabaseError> {
		let removed = self
			.connection
			.lock()
			.execute("DELETE FROM contacts WHERE name_tag = ?1", [&self.name_tag(name)[..]])?;
		Ok(removed > 0)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn contact(name: &str, byte: u8) -> Contact {
		Contact { name: name.into(), account: AccountId32::new([byte; 32]), verified: None }
	}

	#[test]
	fn a_name_names_one_account_and_is_found_in_any_case() {
		let db = Database::in_memory([7; 32]).expect("opens");
		db.save_contact(&contact("Bob", 2), 1).expect("adds");
		db.save_contact(&contact("carol", 3), 2).expect("adds");
		assert_eq!(db.contact_named("BOB").expect("reads"), Some(contact("Bob", 2)));
		assert_eq!(
			db.contact_of(&AccountId32::new([3; 32])).expect("reads"),
			Some(contact("carol", 3))
		);
		assert!(matches!(
			db.save_contact(&contact("bob", 4), 3),
			Err(DatabaseError::Name(NameError::Taken(_)))
		));
		// Renaming, or verifying, a contact keeps one row.
		let mut bobby = contact("bobby", 2);
		bobby.verified = Some("1".repeat(30));
		db.save_contact(&bobby, 4).expect("renames");
		assert_eq!(db.contact_named("bob").expect("reads"), None);
		assert_eq!(db.contacts().expect("lists"), [bobby, contact("carol", 3)]);
		assert!(db.remove_contact("Carol").expect("removes"));
		assert!(!db.remove_contact("carol").expect("removes"));
		assert_eq!(db.contacts().expect("lists").len(), 1);
	}

	#[test]
	fn names_that_could_hide_an_account_or_a_group_are_refused() {
		for name in ["", "a b", "x;drop", &"n".repeat(MAX_NAME + 1)] {
			assert_eq!(check_name(name), Err(NameError::Invalid(name.into())), "{name:?}");
		}
		let account = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
		for name in ["42", "0xab", account] {
			assert!(check_name(name).is_err(), "{name:?}");
		}
		for name in ["alice", "Bob-2", "é.m", "x_y"] {
			assert_eq!(check_name(name), Ok(()), "{name:?}");
		}
	}
}
