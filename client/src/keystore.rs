//! The keystore: one identity per file, encrypted with a passphrase.
//!
//! The file is JSON: scrypt parameters and salt, an AES-256-GCM nonce, and the
//! ciphertext of the identity (its sr25519 secret URI, its device's Ed25519 seed, and the
//! key that encrypts the device's MLS state and the local store's message keys at rest).
//! The header is the associated data, so
//! weakening the KDF parameters in the file makes decryption fail. The file is created
//! with mode 0600 and written atomically (`files::write_private`); a keystore
//! readable by others is refused, as ssh refuses such keys.

use aes_gcm::{
	aead::{Aead, KeyInit, OsRng, Payload},
	Aes256Gcm, Nonce,
};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use sp_core::{crypto::AccountId32, sr25519, Pair as _};
use std::{
	fs,
	os::unix::fs::PermissionsExt,
	path::{Path, PathBuf},
};
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

/// Everything secret a user holds.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Identity {
	/// The sr25519 account secret: a mnemonic phrase or a development URI like `//Alice`.
	pub suri: String,
	/// The Ed25519 seed of this device's signature key: its MLS credential, which the
	/// account binds on chain.
	#[serde(with = "hex32")]
	pub device_seed: [u8; 32],
	/// The AES-256-GCM key of this device's MLS state and of the message keys the local
	/// store keeps.
	#[serde(with = "hex32")]
	pub state_key: [u8; 32],
}

impl Identity {
	/// A new identity with a random account (a 12-word phrase) and device.
	pub fn generate() -> Self {
		let (_, phrase, _) = sr25519::Pair::generate_with_phrase(None);
		Self { suri: phrase, device_seed: random(), state_key: random() }
	}

	/// A new device of account `suri` (an account imported, or its second device).
	pub fn from_suri(suri: &str) -> Result<Self, KeystoreError> {
		let identity = Self { suri: suri.to_owned(), device_seed: random(), state_key: random() };
		identity.pair()?;
		Ok(identity)
	}

	/// A development identity (`Alice`, `Bob`, …) with the device the development chains
	/// bind at genesis.
	pub fn development(name: &str) -> Self {
		Self {
			suri: format!("//{name}"),
			device_seed: crate::dev::device_seed(name),
			state_key: random(),
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
}

fn random() -> [u8; 32] {
	let mut secret = [0u8; 32];
	OsRng.fill_bytes(&mut secret);
	secret
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
		keystore.identity.state_key = [7; 32];
		keystore.save().expect("saves");
		let mode = fs::metadata(keystore.path()).expect("exists").permissions().mode();
		assert_eq!(mode & 0o777, 0o600);

		let opened = Keystore::open(keystore.path(), "correct horse").expect("opens");
		assert_eq!(opened.identity.suri, "//Alice");
		assert_eq!(opened.identity.state_key, [7; 32]);
		assert_eq!(opened.identity.device_seed, crate::dev::device_seed("Alice"));
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
	fn generated_identities_differ_and_reopen() {
		let (a, b) = (Identity::generate(), Identity::generate());
		assert_ne!(a.account().expect("valid"), b.account().expect("valid"));
		assert_ne!(a.device_seed, b.device_seed);
		assert_ne!(a.state_key, b.state_key);
		let second = Identity::from_suri(&a.suri).expect("a second device");
		assert_eq!(second.account().expect("valid"), a.account().expect("valid"));
		assert_ne!(second.device_seed, a.device_seed);
		assert!(Identity::from_suri("not a phrase at all").is_err());
	}
}
