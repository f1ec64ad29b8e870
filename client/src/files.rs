//! The client's local files, written so nobody else can read or redirect them: owner-only
//! modes, and every write through a fresh temporary file created exclusively (a planted
//! file or symlink is never followed nor truncated), synced, then renamed over the target.

use rand_core::{OsRng, RngCore};
use std::{
	fs,
	io::{self, Write},
	os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
	path::{Path, PathBuf},
};

/// Creates `dir` (and missing parents) readable by the owner only, and makes an existing
/// `dir` so: it holds who this identity talks to.
pub fn private_dir(dir: &Path) -> io::Result<()> {
	fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
	fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Replaces `path` with `bytes`, mode 0600, atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
	let mut suffix = [0u8; 8];
	OsRng.fill_bytes(&mut suffix);
	let mut name = path.as_os_str().to_owned();
	name.push(format!(".{}.tmp", array_bytes::bytes2hex("", suffix)));
	write_through(path, &PathBuf::from(name), bytes)
}

/// Writes `bytes` to `temporary`, which must not exist yet, then renames it over `path`.
fn write_through(path: &Path, temporary: &Path, bytes: &[u8]) -> io::Result<()> {
	let mut out =
		fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(temporary)?;
	let written = out
		.write_all(bytes)
		.and_then(|()| out.sync_all())
		.and_then(|()| fs::rename(temporary, path));
	if written.is_err() {
		let _ = fs::remove_file(temporary);
	}
	written
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn writes_are_owner_only_and_never_follow_a_planted_link() {
		let dir = tempfile::tempdir().expect("temp dir");
		let victim = dir.path().join("victim");
		fs::write(&victim, b"untouched").expect("writes");
		let target = dir.path().join("alice.json");
		// The temporary names a fixed-name writer would use.
		for planted in ["alice.tmp", "alice.json.tmp"] {
			std::os::unix::fs::symlink(&victim, dir.path().join(planted)).expect("symlink");
		}
		write_private(&target, b"secret").expect("writes");
		assert_eq!(fs::read(&victim).expect("reads"), b"untouched");
		assert_eq!(fs::read(&target).expect("reads"), b"secret");
		let mode = fs::metadata(&target).expect("exists").permissions().mode();
		assert_eq!(mode & 0o777, 0o600);
		let left: Vec<_> = fs::read_dir(dir.path())
			.expect("lists")
			.filter_map(|e| e.ok())
			.filter(|e| e.file_name().to_string_lossy().ends_with(".tmp") && !e.path().is_symlink())
			.collect();
		assert!(left.is_empty(), "no temporary file is left behind");
	}

	#[test]
	fn a_file_planted_at_the_temporary_name_is_never_written_through() {
		// Whoever guessed the random name still cannot redirect the write: the temporary
		// file is created exclusively, so a planted link or file makes the write fail.
		let dir = tempfile::tempdir().expect("temp dir");
		let victim = dir.path().join("victim");
		fs::write(&victim, b"untouched").expect("writes");
		let target = dir.path().join("alice.json");
		let (link, file) = (dir.path().join("guessed.tmp"), dir.path().join("planted.tmp"));
		std::os::unix::fs::symlink(&victim, &link).expect("symlink");
		fs::write(&file, b"planted").expect("writes");
		for temporary in [&link, &file] {
			let refused = write_through(&target, temporary, b"secret").expect_err("refused");
			assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
		}
		assert_eq!(fs::read(&victim).expect("reads"), b"untouched");
		assert_eq!(fs::read(&file).expect("reads"), b"planted");
		assert!(!target.exists(), "nothing renamed over the target");
	}

	#[test]
	fn private_dirs_are_owner_only_even_when_they_existed() {
		let dir = tempfile::tempdir().expect("temp dir");
		let mail = dir.path().join("alice.json.mail");
		fs::create_dir(&mail).expect("creates");
		fs::set_permissions(&mail, fs::Permissions::from_mode(0o755)).expect("chmod");
		private_dir(&mail).expect("secures");
		let fresh = dir.path().join("nested/bob.json.mail");
		private_dir(&fresh).expect("creates");
		for path in [&mail, &fresh] {
			let mode = fs::metadata(path).expect("exists").permissions().mode();
			assert_eq!(mode & 0o777, 0o700, "{path:?}");
		}
	}
}
