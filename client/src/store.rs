//! The local mail store: every envelope this identity sent, or opened and saw anchored, by
//! hash, with where it sits in its sender's anchor and the message key that opens its
//! letter, so it can be read again, audited and proven after the hosts deleted it and MLS
//! deleted the key (the key of mail not anchored yet is kept too, until it is forgotten).
//! Envelopes (whose headers say who wrote to whom) and message keys are kept encrypted
//! under the identity's state key ([`crate::at_rest`]); envelopes an older client wrote in
//! the clear still read. Which group is the 1:1 conversation with whom, which older clients
//! kept here, is read once for the message database ([`crate::database`]) to take over.

use crate::{
	at_rest,
	files::{private_dir, write_private},
	seal::MessageKey,
};
use codec::{Decode, Encode};
use quarks_primitives::{envelope::hash_of, hosting::BatchMembership, GroupId};
use sp_core::{crypto::AccountId32, H256};
use std::{
	fs, io,
	path::{Path, PathBuf},
};
use zeroize::Zeroizing;

/// A directory of envelopes named by their hash.
#[derive(Clone)]
pub struct MailStore {
	dir: PathBuf,
	key: Zeroizing<[u8; 32]>,
}

/// What the conversations file is sealed for.
const CONVERSATIONS: &[u8] = b"quarks/conversations/1";

fn invalid(what: &str) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

impl MailStore {
	/// The store beside keystore `keystore`: `<keystore>.mail/`, its message keys under
	/// `key`.
	pub fn beside(keystore: &Path, key: [u8; 32]) -> Self {
		let mut name = keystore.as_os_str().to_owned();
		name.push(".mail");
		Self { dir: PathBuf::from(name), key: Zeroizing::new(key) }
	}

	fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
		match fs::read(path) {
			Ok(bytes) => Ok(Some(bytes)),
			Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e),
		}
	}

	fn seal(&self, label: &[u8], plaintext: &[u8]) -> io::Result<Vec<u8>> {
		at_rest::seal(&self.key, label, plaintext).map_err(|e| invalid(&e.to_string()))
	}

	fn open(&self, label: &[u8], sealed: &[u8]) -> io::Result<Zeroizing<Vec<u8>>> {
		at_rest::open(&self.key, label, sealed).map_err(|e| invalid(&e.to_string()))
	}

	/// Keeps the message key of `hash`'s letter, encrypted.
	pub fn put_message_key(&self, hash: &H256, key: &MessageKey) -> io::Result<()> {
		let sealed = self.seal(hash.as_bytes(), key)?;
		private_dir(&self.dir)?;
		write_private(&self.path(hash).with_extension("key"), &sealed)
	}

	/// The message key of `hash`'s letter, if kept.
	pub fn message_key(&self, hash: &H256) -> io::Result<Option<MessageKey>> {
		let Some(file) = self.read(&self.path(hash).with_extension("key"))? else {
			return Ok(None);
		};
		let key = self.open(hash.as_bytes(), &file)?;
		MessageKey::try_from(key.as_slice()).map(Some).map_err(|_| invalid("not a message key"))
	}

	/// Where a client before the message database kept its 1:1 conversations, sealed.
	fn conversations_path(&self) -> PathBuf {
		self.dir.join("conversations.sealed")
	}

	/// Where a client before sealing kept them, in the clear.
	fn clear_conversations_path(&self) -> PathBuf {
		self.dir.join("conversations")
	}

	/// The 1:1 conversations (peer, group) an older client kept here, for the message
	/// database to take over.
	pub fn old_conversations(&self) -> io::Result<Vec<(AccountId32, GroupId)>> {
		let decode = |bytes: &[u8]| {
			Vec::<(AccountId32, GroupId)>::decode(&mut &bytes[..])
				.map_err(|e| invalid(&e.to_string()))
		};
		if let Some(sealed) = self.read(&self.conversations_path())? {
			return decode(&self.open(CONVERSATIONS, &sealed)?);
		}
		match self.read(&self.clear_conversations_path())? {
			Some(clear) => decode(&clear),
			None => Ok(Vec::new()),
		}
	}

	/// Removes what [`Self::old_conversations`] read, once the database holds it.
	pub fn remove_old_conversations(&self) -> io::Result<()> {
		for path in [self.conversations_path(), self.clear_conversations_path()] {
			match fs::remove_file(path) {
				Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
				_ => {}
			}
		}
		Ok(())
	}

	fn path(&self, hash: &H256) -> PathBuf {
		self.dir.join(array_bytes::bytes2hex("", hash.0))
	}

	/// Keeps `envelope`, sealed (written to a temporary file, then renamed); returns its
	/// hash.
	pub fn put(&self, envelope: &[u8]) -> io::Result<H256> {
		let hash = hash_of(envelope);
		let path = self.path(&hash);
		if !path.exists() {
			private_dir(&self.dir)?;
			write_private(&path, &self.seal(hash.as_bytes(), envelope)?)?;
		}
		Ok(hash)
	}

	/// The envelope with `hash`, if kept.
	pub fn get(&self, hash: &H256) -> io::Result<Option<Vec<u8>>> {
		let Some(file) = self.read(&self.path(hash))? else { return Ok(None) };
		// An older client kept envelopes in the clear: such a file is its own hash's.
		if hash_of(&file) == *hash {
			return Ok(Some(file));
		}
		Ok(Some(self.open(hash.as_bytes(), &file)?.to_vec()))
	}

	/// Keeps where `hash` sits in its sender's anchor.
	pub fn put_membership(&self, hash: &H256, membership: &BatchMembership) -> io::Result<()> {
		private_dir(&self.dir)?;
		write_private(&self.path(hash).with_extension("membership"), &membership.encode())
	}

	/// Where `hash` sits in its sender's anchor, if known.
	pub fn membership(&self, hash: &H256) -> io::Result<Option<BatchMembership>> {
		self.read(&self.path(hash).with_extension("membership"))?
			.map(|bytes| {
				BatchMembership::decode(&mut &bytes[..]).map_err(|e| invalid(&e.to_string()))
			})
			.transpose()
	}

	/// Forgets `hash`: its envelope, message key and membership, whichever are kept (mail
	/// never anchored, or refused once its anchor was read).
	pub fn forget(&self, hash: &H256) -> io::Result<()> {
		let path = self.path(hash);
		for file in [path.clone(), path.with_extension("key"), path.with_extension("membership")] {
			match fs::remove_file(file) {
				Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
				_ => {}
			}
		}
		Ok(())
	}

	/// Marks `hash` as acknowledged by this identity.
	pub fn mark_acknowledged(&self, hash: &H256) -> io::Result<()> {
		private_dir(&self.dir)?;
		fs::write(self.path(hash).with_extension("ack"), [])
	}

	/// Whether this identity acknowledged `hash`.
	pub fn acknowledged(&self, hash: &H256) -> bool {
		self.path(hash).with_extension("ack").exists()
	}

	/// When `hash`'s envelope was kept, in milliseconds since the Unix epoch, if it is.
	pub fn kept_at(&self, hash: &H256) -> io::Result<Option<u64>> {
		let modified = match fs::metadata(self.path(hash)) {
			Ok(metadata) => metadata.modified()?,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
			Err(e) => return Err(e),
		};
		let since_epoch = modified.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
		Ok(Some(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)))
	}

	/// Where the store notes that its letters are in the message database.
	fn imported_path(&self) -> PathBuf {
		self.dir.join("letters-imported")
	}

	/// Whether the letters kept here were imported into the message database.
	pub fn letters_imported(&self) -> bool {
		self.imported_path().exists()
	}

	/// Notes that the letters kept here are in the message database.
	pub fn mark_letters_imported(&self) -> io::Result<()> {
		private_dir(&self.dir)?;
		fs::write(self.imported_path(), [])
	}

	/// Every kept envelope.
	pub fn all(&self) -> io::Result<Vec<Vec<u8>>> {
		let entries = match fs::read_dir(&self.dir) {
			Ok(entries) => entries,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
			Err(e) => return Err(e),
		};
		let mut out = Vec::new();
		for entry in entries {
			let path = entry?.path();
			let hash = path
				.file_name()
				.and_then(|name| name.to_str())
				.filter(|_| path.extension().is_none())
				.and_then(|name| array_bytes::hex2array::<_, 32>(name).ok());
			if let Some(envelope) = hash.map(H256).map(|hash| self.get(&hash)).transpose()? {
				out.extend(envelope);
			}
		}
		Ok(out)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn keeps_envelopes_by_hash() {
		let dir = tempfile::tempdir().expect("temp dir");
		let store = MailStore::beside(&dir.path().join("me.json"), [4; 32]);
		assert!(store.all().expect("empty").is_empty());
		let hash = store.put(b"envelope").expect("puts");
		assert_eq!(hash, hash_of(b"envelope"));
		assert_eq!(store.put(b"envelope").expect("again"), hash);
		assert_eq!(store.get(&hash).expect("reads"), Some(b"envelope".to_vec()));
		assert_eq!(store.get(&H256::zero()).expect("reads"), None);
		assert!(!store.acknowledged(&hash));
		store.mark_acknowledged(&hash).expect("marks");
		assert!(store.acknowledged(&hash));
		let membership = BatchMembership {
			root: H256::repeat_byte(1),
			proof: quarks_primitives::merkle::single_proof(),
		};
		assert_eq!(store.membership(&hash).expect("reads"), None);
		store.put_membership(&hash, &membership).expect("keeps");
		assert_eq!(store.membership(&hash).expect("reads"), Some(membership.clone()));
		assert_eq!(store.message_key(&hash).expect("reads"), None);
		store.put_message_key(&hash, &[9; 32]).expect("keeps");
		assert_eq!(store.message_key(&hash).expect("reads"), Some([9; 32]));
		let file = fs::read(store.path(&hash).with_extension("key")).expect("kept");
		assert!(!file.windows(32).any(|w| w == [9; 32]), "message keys are not kept in clear");
		let other = MailStore::beside(&dir.path().join("me.json"), [5; 32]);
		assert!(other.message_key(&hash).is_err(), "only this identity's key opens them");

		let peer = AccountId32::new([8; 32]);
		// Dated by when it was kept; the import mark is no envelope.
		let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
		let kept_at = store.kept_at(&hash).expect("reads").expect("kept");
		assert!(kept_at.abs_diff(now.expect("after 1970").as_millis() as u64) < 60_000);
		assert_eq!(store.kept_at(&H256::zero()).expect("reads"), None);
		assert!(!store.letters_imported());
		store.mark_letters_imported().expect("marks");
		assert!(store.letters_imported());
		assert_eq!(store.all().expect("lists"), vec![b"envelope".to_vec()]);
		let junk = store.put(b"junk").expect("puts");
		store.put_message_key(&junk, &[7; 32]).expect("keeps");
		store.put_membership(&junk, &membership).expect("keeps");
		store.forget(&junk).expect("forgets");
		store.forget(&junk).expect("forgetting twice is no error");
		assert_eq!(store.get(&junk).expect("reads"), None);
		assert_eq!(store.message_key(&junk).expect("reads"), None);
		assert_eq!(store.membership(&junk).expect("reads"), None);
		assert_eq!(store.message_key(&hash).expect("reads"), Some([9; 32]), "others stay");
		// Who this identity talks to is sealed: envelope headers are not in the clear on
		// disk.
		for file in fs::read_dir(&store.dir).expect("lists") {
			let bytes = fs::read(file.expect("entry").path()).expect("reads");
			assert!(!bytes.windows(8).any(|w| w == b"envelope"), "an envelope in the clear");
			assert!(!bytes.windows(32).any(|w| w == [8; 32]), "a peer in the clear");
		}
		// What older clients wrote still reads: envelopes in the clear, and the 1:1
		// conversations, in the clear or sealed, until the database takes them over.
		let old = MailStore::beside(&dir.path().join("old.json"), [4; 32]);
		private_dir(&old.dir).expect("made");
		fs::write(old.path(&hash_of(b"clear")), b"clear").expect("writes");
		assert_eq!(old.get(&hash_of(b"clear")).expect("reads"), Some(b"clear".to_vec()));
		assert!(old.old_conversations().expect("reads").is_empty());
		fs::write(old.clear_conversations_path(), vec![(peer.clone(), 7u64)].encode())
			.expect("writes");
		assert_eq!(old.old_conversations().expect("reads"), vec![(peer.clone(), 7)]);
		let sealed = old.seal(CONVERSATIONS, &vec![(peer.clone(), 9u64)].encode()).expect("seals");
		fs::write(old.conversations_path(), sealed).expect("writes");
		assert_eq!(
			old.old_conversations().expect("reads"),
			vec![(peer.clone(), 9)],
			"sealed first"
		);
		old.remove_old_conversations().expect("removes");
		assert!(old.old_conversations().expect("reads").is_empty());
		// Who this identity talks to is nobody else's business.
		use std::os::unix::fs::PermissionsExt;
		let mode = fs::metadata(&store.dir).expect("exists").permissions().mode();
		assert_eq!(mode & 0o777, 0o700);
	}
}
