//! The keystore: one identity per file, encrypted with a passphrase.
//!
//! The file is JSON: scrypt parameters and salt, an AES-256-GCM nonce, and the
//! ciphertext of the identity (its sr25519 secret URI, every X25519 secret it still
//! needs, and the group keys it received). The header is the associated data, so
//! weakening the KDF parameters in the file makes decryption fail. The file is created
//! with mode 0600 and written atomically (`files::write_private`); a keystore
//! readable by others is refused, as ssh refuses such keys.

use crate::BlockNumber;
use aes_gcm::{
	aead::{Aead, KeyInit, OsRng, Payload},
	Aes256Gcm, Nonce,
};
use quarks_primitives::{Epoch, GroupId, KeyVersion};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use sp_core::{crypto::AccountId32, sr25519, Pair as _};
use std::{
	fs,
	os::unix::fs::PermissionsExt,
	path::{Path, PathBuf},
};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// Format tag of keystore files.
const FORMAT: &str = "quarks-keystore/1";

/// scrypt cost of new keystores: N = 2^15, r = 8, p = 1 (32 MiB, the parameters
/// RFC 7914 and most wallets use for interactive logins).
pub const DEFAULT_LOG_N: u8 = 15;

/// scrypt costs a keystore may have: from 1 MiB (tests) to 1 GiB. A file asking for more
/// would make opening it exhaust memory; less protects nothing.
pub const LOG_N_RANGE: std::ops::RangeInclusive<u8> = 10..=20;

/// Why a keystore could not be created, opened or saved.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
	/// Reading or writing the file failed.
	#[error("keystore {path}: {source}")]
	Io {
		/// The file.
		path: PathBuf,
		/// The cause.
		source: std::io::Error,
	},
	/// `create` would overwrite an identity.
	#[error("keystore {0} already exists; refusing to overwrite an identity")]
	Exists(PathBuf),
	/// Other users may read the file.
	#[error("keystore {path} is readable by others (mode {mode:o}); run chmod 600 on it")]
	Permissions {
		/// The file.
		path: PathBuf,
		/// Its mode bits.
		mode: u32,
	},
	/// The passphrase does not decrypt the file (or the file was altered).
	#[error("wrong passphrase, or the keystore was altered")]
	WrongPassphrase,
	/// The file is not a keystore this client understands.
	#[error("not a Quarks keystore: {0}")]
	Corrupt(String),
	/// The account secret is not a valid secret URI.
	#[error("invalid account secret: {0}")]
	InvalidSecret(String),
	/// The scrypt cost is outside [`LOG_N_RANGE`].
	#[error("scrypt cost log2(N) = {0} is outside {min}..={max}", min = LOG_N_RANGE.start(), max = LOG_N_RANGE.end())]
	KdfCost(u8),
}

/// One X25519 secret and what the chain says of it.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EncryptionSecret {
	/// The on-chain version, once published.
	pub version: Option<KeyVersion>,
	/// The secret, hex.
	#[serde(with = "hex32")]
	pub secret: [u8; 32],
	/// The block its key expires at, once published.
	pub expires_at: Option<BlockNumber>,
}

impl EncryptionSecret {
	/// The public key.
	pub fn public(&self) -> [u8; 32] {
		PublicKey::from(&StaticSecret::from(self.secret)).to_bytes()
	}
}

/// The key of one group epoch.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GroupKey {
	/// The group.
	pub group: GroupId,
	/// The epoch.
	pub epoch: Epoch,
	/// The AES-256-GCM key, hex.
	#[serde(with = "hex32")]
	pub key: [u8; 32],
}

/// Everything secret a user holds.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Identity {
	/// The sr25519 account secret: a mnemonic phrase or a development URI like `//Alice`.
	pub suri: String,
	/// X25519 secrets, oldest first; the last is the newest.
	pub encryption: Vec<EncryptionSecret>,
	/// Group keys received.
	pub groups: Vec<GroupKey>,
}

impl Identity {
	/// A new identity with a random account (a 12-word phrase) and encryption secret.
	pub fn generate() -> Self {
		let (_, phrase, _) = sr25519::Pair::generate_with_phrase(None);
		Self { suri: phrase, encryption: vec![random_secret()], groups: Vec::new() }
	}

	/// Identity `suri` with a fresh, unpublished encryption secret.
	pub fn from_suri(suri: &str) -> Result<Self, KeystoreError> {
		let identity =
			Self { suri: suri.to_owned(), encryption: vec![random_secret()], groups: Vec::new() };
		identity.pair()?;
		Ok(identity)
	}

	/// A development identity (`Alice`, `Bob`, …) with the encryption key version 1 the
	/// development chains register at genesis.
	pub fn development(name: &str) -> Self {
		Self {
			suri: format!("//{name}"),
			encryption: vec![EncryptionSecret {
				version: Some(1),
				secret: crate::dev::encryption_secret(name).to_bytes(),
				expires_at: None,
			}],
			groups: Vec::new(),
		}
	}

	/// The account key pair.
	pub fn pair(&self) -> Result<sr25519::Pair, KeystoreError> {
		sr25519::Pair::from_string(&self.suri, None)
			.map_err(|e| KeystoreError::InvalidSecret(format!("{e:?}")))
	}

	/// The account.
	pub fn account(&self) -> Result<AccountId32, KeystoreError> {
		Ok(self.pair()?.public().into())
	}

	/// The newest encryption secret.
	pub fn newest(&self) -> Option<&EncryptionSecret> {
		self.encryption.last()
	}

	/// The secret of published key `version`, if still held.
	pub fn secret_for(&self, version: KeyVersion) -> Option<StaticSecret> {
		self.encryption
			.iter()
			.find(|s| s.version == Some(version))
			.map(|s| StaticSecret::from(s.secret))
	}

	/// Starts a rotation: a new secret to publish. Earlier secrets stay for old mail.
	pub fn add_encryption_secret(&mut self) -> &EncryptionSecret {
		// An unpublished newest secret (a rotation that never reached the chain) is replaced.
		if self.encryption.last().is_some_and(|s| s.version.is_none()) {
			self.encryption.pop();
		}
		self.encryption.push(random_secret());
		self.encryption.last().expect("just pushed")
	}

	/// Records that the newest secret was published as `version` until `expires_at`.
	pub fn published(&mut self, version: KeyVersion, expires_at: BlockNumber) {
		if let Some(newest) = self.encryption.last_mut() {
			newest.version = Some(version);
			newest.expires_at = Some(expires_at);
		}
	}

	/// Forgets secrets whose keys expired by block `now`; the newest is always kept.
	pub fn forget_expired(&mut self, now: BlockNumber) -> usize {
		let before = self.encryption.len();
		let newest = before.saturating_sub(1);
		let mut index = 0;
		self.encryption.retain(|s| {
			let keep = index == newest || s.expires_at.is_none_or(|at| at > now);
			index += 1;
			keep
		});
		before - self.encryption.len()
	}

	/// The key of `group`'s `epoch`, if received.
	pub fn group_key(&self, group: GroupId, epoch: Epoch) -> Option<[u8; 32]> {
		self.groups.iter().find(|k| k.group == group && k.epoch == epoch).map(|k| k.key)
	}

	/// Keeps a group key; returns whether it was new.
	pub fn add_group_key(&mut self, key: GroupKey) -> bool {
		if self.group_key(key.group, key.epoch).is_some() {
			return false;
		}
		self.groups.push(key);
		true
	}
}

fn random_secret() -> EncryptionSecret {
	let mut secret = [0u8; 32];
	OsRng.fill_bytes(&mut secret);
	EncryptionSecret { version: None, secret, expires_at: None }
}

/// scrypt parameters and salt as stored.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct Kdf {
	name: String,
	log_n: u8,
	r: u32,
	p: u32,
	#[serde(with = "hex32")]
	salt: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct File {
	format: String,
	kdf: Kdf,
	cipher: String,
	#[serde(with = "hex_vec")]
	nonce: Vec<u8>,
	#[serde(with = "hex_vec")]
	ciphertext: Vec<u8>,
}

impl File {
	/// What the ciphertext is bound to.
	fn associated_data(format: &str, kdf: &Kdf, cipher: &str) -> Vec<u8> {
		serde_json::to_vec(&(format, kdf, cipher)).expect("serialising plain data cannot fail")
	}
}

/// An opened keystore: the identity, and how to write it back.
pub struct Keystore {
	path: PathBuf,
	passphrase: Zeroizing<String>,
	log_n: u8,
	/// The identity held.
	pub identity: Identity,
}

impl Keystore {
	/// Creates the file at `path` for `identity`; refuses to overwrite one.
	pub fn create(
		path: &Path,
		passphrase: &str,
		identity: Identity,
		log_n: u8,
	) -> Result<Self, KeystoreError> {
		if path.exists() {
			return Err(KeystoreError::Exists(path.to_owned()));
		}
		if !LOG_N_RANGE.contains(&log_n) {
			return Err(KeystoreError::KdfCost(log_n));
		}
		identity.pair()?;
		let keystore = Self {
			path: path.to_owned(),
			passphrase: Zeroizing::new(passphrase.to_owned()),
			log_n,
			identity,
		};
		keystore.save()?;
		Ok(keystore)
	}

	/// Opens the file at `path` with `passphrase`.
	pub fn open(path: &Path, passphrase: &str) -> Result<Self, KeystoreError> {
		let io = |source| KeystoreError::Io { path: path.to_owned(), source };
		let mode = fs::metadata(path).map_err(io)?.permissions().mode();
		if mode & 0o077 != 0 {
			return Err(KeystoreError::Permissions { path: path.to_owned(), mode: mode & 0o777 });
		}
		let file: File = serde_json::from_slice(&fs::read(path).map_err(io)?)
			.map_err(|e| KeystoreError::Corrupt(e.to_string()))?;
		if file.format != FORMAT || file.kdf.name != "scrypt" || file.cipher != "aes-256-gcm" {
			return Err(KeystoreError::Corrupt(format!(
				"unsupported format {} / {} / {}",
				file.format, file.kdf.name, file.cipher
			)));
		}
		if file.nonce.len() != 12 {
			return Err(KeystoreError::Corrupt("nonce is not 12 bytes".into()));
		}
		if !LOG_N_RANGE.contains(&file.kdf.log_n) || (file.kdf.r, file.kdf.p) != (8, 1) {
			return Err(KeystoreError::KdfCost(file.kdf.log_n));
		}
		let key = derive(passphrase, &file.kdf)?;
		let aad = File::associated_data(&file.format, &file.kdf, &file.cipher);
		let plaintext = Aes256Gcm::new(&(*key).into())
			.decrypt(Nonce::from_slice(&file.nonce), Payload { msg: &file.ciphertext, aad: &aad })
			.map(Zeroizing::new)
			.map_err(|_| KeystoreError::WrongPassphrase)?;
		let identity: Identity = serde_json::from_slice(&plaintext)
			.map_err(|e| KeystoreError::Corrupt(e.to_string()))?;
		identity.pair()?;
		Ok(Self {
			path: path.to_owned(),
			passphrase: Zeroizing::new(passphrase.to_owned()),
			log_n: file.kdf.log_n,
			identity,
		})
	}

	/// Where the keystore lives.
	pub fn path(&self) -> &Path {
		&self.path
	}

	/// Encrypts the identity under a fresh salt and nonce and replaces the file atomically.
	pub fn save(&self) -> Result<(), KeystoreError> {
		let io = |source| KeystoreError::Io { path: self.path.clone(), source };
		let mut salt = [0u8; 32];
		let mut nonce = [0u8; 12];
		OsRng.fill_bytes(&mut salt);
		OsRng.fill_bytes(&mut nonce);
		let kdf = Kdf { name: "scrypt".into(), log_n: self.log_n, r: 8, p: 1, salt };
		let key = derive(&self.passphrase, &kdf)?;
		let cipher = "aes-256-gcm".to_owned();
		let aad = File::associated_data(FORMAT, &kdf, &cipher);
		let plaintext = Zeroizing::new(
			serde_json::to_vec(&self.identity).expect("serialising plain data cannot fail"),
		);
		let ciphertext = Aes256Gcm::new(&(*key).into())
			.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plaintext, aad: &aad })
			.map_err(|_| KeystoreError::Corrupt("encryption failed".into()))?;
		let file = File { format: FORMAT.into(), kdf, cipher, nonce: nonce.to_vec(), ciphertext };

		if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
			fs::create_dir_all(dir).map_err(io)?;
		}
		let bytes = serde_json::to_vec_pretty(&file).expect("plain data");
		crate::files::write_private(&self.path, &bytes).map_err(io)
	}
}

/// The file key; it, the passphrase and the plaintext are wiped from memory when dropped.
fn derive(passphrase: &str, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
	let params = scrypt::Params::new(kdf.log_n, kdf.r, kdf.p, 32)
		.map_err(|e| KeystoreError::Corrupt(format!("scrypt parameters: {e}")))?;
	let mut key = Zeroizing::new([0u8; 32]);
	scrypt::scrypt(passphrase.as_bytes(), &kdf.salt, &params, &mut *key)
		.map_err(|e| KeystoreError::Corrupt(format!("scrypt: {e}")))?;
	Ok(key)
}

mod hex32 {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&array_bytes::bytes2hex("0x", bytes))
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
		let text = String::deserialize(d)?;
		array_bytes::hex2array(&text).map_err(|e| D::Error::custom(format!("{e:?}")))
	}
}

mod hex_vec {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&array_bytes::bytes2hex("0x", bytes))
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
		let text = String::deserialize(d)?;
		array_bytes::hex2bytes(&text).map_err(|e| D::Error::custom(format!("{e:?}")))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Cheap scrypt for tests; the format and checks are the same at any cost.
	const TEST_LOG_N: u8 = *LOG_N_RANGE.start();

	fn store(dir: &Path) -> Keystore {
		Keystore::create(
			&dir.join("alice.json"),
			"correct horse",
			Identity::development("Alice"),
			TEST_LOG_N,
		)
		.expect("creates")
	}

	#[test]
	fn round_trips_and_is_owner_only() {
		let dir = tempfile::tempdir().expect("temp dir");
		let mut keystore = store(dir.path());
		keystore.identity.add_group_key(GroupKey { group: 3, epoch: 2, key: [7; 32] });
		keystore.save().expect("saves");
		let mode = fs::metadata(keystore.path()).expect("exists").permissions().mode();
		assert_eq!(mode & 0o777, 0o600);

		let opened = Keystore::open(keystore.path(), "correct horse").expect("opens");
		assert_eq!(opened.identity.suri, "//Alice");
		assert_eq!(opened.identity.group_key(3, 2), Some([7; 32]));
		assert_eq!(
			opened.identity.secret_for(1).map(|s| s.to_bytes()),
			Some(crate::dev::encryption_secret("Alice").to_bytes())
		);
		// Nothing secret is in the file in clear.
		let text = fs::read_to_string(keystore.path()).expect("reads");
		assert!(!text.contains("Alice") && !text.contains("0707070707"));
	}

	#[test]
	fn kdf_costs_outside_the_range_are_refused() {
		let dir = tempfile::tempdir().expect("temp dir");
		for cost in [*LOG_N_RANGE.start() - 1, *LOG_N_RANGE.end() + 1, 40] {
			let path = dir.path().join(format!("cost-{cost}.json"));
			assert!(matches!(
				Keystore::create(&path, "x", Identity::generate(), cost),
				Err(KeystoreError::KdfCost(c)) if c == cost
			));
			assert!(!path.exists());
		}
		// A file asking for 2^40 rounds is refused before any derivation starts.
		let keystore = store(dir.path());
		let text = fs::read_to_string(keystore.path()).expect("reads");
		fs::write(keystore.path(), text.replace("\"log_n\": 10", "\"log_n\": 40")).expect("writes");
		assert!(matches!(
			Keystore::open(keystore.path(), "correct horse"),
			Err(KeystoreError::KdfCost(40))
		));
	}

	#[test]
	fn saving_never_follows_a_planted_temporary_file() {
		let dir = tempfile::tempdir().expect("temp dir");
		let victim = dir.path().join("victim");
		fs::write(&victim, b"untouched").expect("writes");
		// The temporary file an earlier version wrote through, for alice.json.
		std::os::unix::fs::symlink(&victim, dir.path().join("alice.tmp")).expect("symlink");
		let keystore = store(dir.path());
		keystore.save().expect("saves");
		assert_eq!(fs::read(&victim).expect("reads"), b"untouched");
		assert!(Keystore::open(keystore.path(), "correct horse").is_ok());
	}

	#[test]
	fn refuses_wrong_passphrase_tampering_overwrite_and_open_permissions() {
		let dir = tempfile::tempdir().expect("temp dir");
		let keystore = store(dir.path());
		let path = keystore.path().to_owned();
		assert!(matches!(Keystore::open(&path, "wrong"), Err(KeystoreError::WrongPassphrase)));

		// Altering the KDF in the file breaks the authentication.
		let text = fs::read_to_string(&path).expect("reads");
		fs::write(&path, text.replace("\"log_n\": 10", "\"log_n\": 11")).expect("writes");
		assert!(matches!(
			Keystore::open(&path, "correct horse"),
			Err(KeystoreError::WrongPassphrase)
		));
		fs::write(&path, &text).expect("writes");

		assert!(matches!(
			Keystore::create(&path, "x", Identity::generate(), TEST_LOG_N),
			Err(KeystoreError::Exists(_))
		));
		assert_eq!(fs::read_to_string(&path).expect("reads"), text, "existing identity kept");

		fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
		assert!(matches!(
			Keystore::open(&path, "correct horse"),
			Err(KeystoreError::Permissions { mode: 0o644, .. })
		));

		fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
		fs::write(&path, b"{}").expect("writes");
		assert!(matches!(Keystore::open(&path, "correct horse"), Err(KeystoreError::Corrupt(_))));
	}

	#[test]
	fn rotation_keeps_old_secrets_until_they_expire() {
		let mut identity = Identity::development("Bob");
		identity.encryption[0].expires_at = Some(100);
		let first = identity.encryption[0].secret;
		identity.add_encryption_secret();
		// A rotation that never reached the chain is replaced, not stacked.
		identity.add_encryption_secret();
		assert_eq!(identity.encryption.len(), 2);
		identity.published(2, 500);
		assert_eq!(identity.secret_for(1).map(|s| s.to_bytes()), Some(first));
		assert!(identity.secret_for(2).is_some());

		assert_eq!(identity.forget_expired(99), 0);
		assert_eq!(identity.forget_expired(100), 1);
		assert!(identity.secret_for(1).is_none());
		// The newest key is never forgotten, even past its expiry.
		assert_eq!(identity.forget_expired(1_000), 0);
		assert!(identity.secret_for(2).is_some());
	}

	#[test]
	fn generated_identities_differ_and_reopen() {
		let (a, b) = (Identity::generate(), Identity::generate());
		assert_ne!(a.account().expect("valid"), b.account().expect("valid"));
		assert_ne!(a.encryption[0].public(), b.encryption[0].public());
		assert!(Identity::from_suri("not a phrase at all").is_err());
	}
}
