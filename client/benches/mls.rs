//! Figures for docs/performance.md: what MLS costs in Quarks. Nothing is asserted; run
//! with
//!
//!     cargo bench -p quarks-client --bench mls
//!
//! - Commits and welcomes for groups of 2, 32 and 256 devices: the commit that adds
//!   everyone (time to stage it, bytes of the commit and of the welcome), a device joining
//!   from that welcome, and an update commit in the full group (staging, bytes, applying
//!   at another member).
//! - One letter sealed and opened at 1 KiB and 16 KiB, next to its primitives: the MLS
//!   message carrying the key, AES-256-GCM, Ed25519 signing and verification, BLAKE2.

use aes_gcm::{
	aead::{Aead, KeyInit, Payload},
	Aes256Gcm, Nonce,
};
use quarks_client::{
	mls::Device,
	seal::{open_letter, parse, seal_letter, Letter},
};
use quarks_primitives::envelope::hash_of;
use sp_core::{crypto::AccountId32, ed25519, Pair};
use std::{
	hint::black_box,
	time::{Duration, Instant},
};

const GROUP: u64 = 1;
const DAY: u64 = 86_400;

fn device(n: u32) -> Device {
	let mut account = [0u8; 32];
	account[..4].copy_from_slice(&n.to_be_bytes());
	Device::new(AccountId32::new(account)).expect("a device")
}

fn ms(d: Duration) -> String {
	format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Microseconds per call of `f`, the median of 5 runs of `n` calls.
fn micros(n: u32, mut f: impl FnMut()) -> f64 {
	let mut runs: Vec<f64> = (0..5)
		.map(|_| {
			let start = Instant::now();
			for _ in 0..n {
				f();
			}
			start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
		})
		.collect();
	runs.sort_by(f64::total_cmp);
	runs[2]
}

/// `device` alone in `GROUP`: the restart that starts a group, ordered at epoch 1.
fn alone(device: &mut Device) {
	let start = device.restart(GROUP, 1, &[]).expect("started");
	device.apply_commit(GROUP, 1, &start.message, start.ordered()).expect("applies");
}

/// Commits and welcomes in a group of `size` devices.
fn group_of(size: u32) {
	let mut creator = device(0);
	let mut joiner = device(1);
	alone(&mut creator);
	let mut packages = vec![joiner.key_package(DAY).expect("a package")];
	packages.extend((2..size).map(|n| device(n).key_package(DAY).expect("a package")));

	let started = Instant::now();
	let add = creator.commit(GROUP, &packages, &[]).expect("staged");
	let staged = started.elapsed();
	let welcome = add.welcome.clone().expect("a welcome");
	creator.apply_commit(GROUP, add.epoch + 1, &add.message, add.ordered()).expect("applies");
	let started = Instant::now();
	joiner.join(&welcome, GROUP, add.epoch + 1, add.ordered()).expect("joins");
	let joined = started.elapsed();

	let started = Instant::now();
	let update = creator.update(GROUP).expect("staged");
	let update_staged = started.elapsed();
	creator
		.apply_commit(GROUP, update.epoch + 1, &update.message, update.ordered())
		.expect("applies");
	let started = Instant::now();
	joiner
		.apply_commit(GROUP, update.epoch + 1, &update.message, update.ordered())
		.expect("applies");
	let update_applied = started.elapsed();
	let dir = tempfile::tempdir().expect("a temporary directory");
	let path = dir.path().join("state");
	let started = Instant::now();
	joiner.save(&path, &[1; 32]).expect("saves");
	let saved = started.elapsed();
	let state = std::fs::metadata(&path).expect("saved").len();
	println!(
		"| {size} | {} | {} B | {} B | {} | {} | {} B | {} | {} B, {} |",
		ms(staged),
		add.message.len(),
		welcome.len(),
		ms(joined),
		ms(update_staged),
		update.message.len(),
		ms(update_applied),
		state,
		ms(saved),
	);
}

fn main() {
	println!(
		"Commits and welcomes ({} build)",
		if cfg!(debug_assertions) { "debug" } else { "release" }
	);
	println!();
	println!("| devices | commit adding all: stage | commit | welcome | join | update: stage | update | apply at a member | a member's saved state, save |");
	println!("|---|---|---|---|---|---|---|---|---|");
	for size in [2, 32, 256] {
		group_of(size);
	}

	// Letters: Alice seals, Bob opens (MLS, commitment, AES-GCM, signature).
	let mut alice = device(0);
	let mut bob = device(1);
	alone(&mut alice);
	let add =
		alice.commit(GROUP, &[bob.key_package(DAY).expect("a package")], &[]).expect("staged");
	alice.apply_commit(GROUP, add.epoch + 1, &add.message, add.ordered()).expect("applies");
	bob.join(add.welcome.as_ref().expect("a welcome"), GROUP, add.epoch + 1, add.ordered())
		.expect("joins");

	println!();
	println!("| operation | 1 KiB class | 16 KiB class |");
	println!("|---|---|---|");
	let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
	let mut add_row = |name: &str, value: f64| match rows.iter_mut().find(|(n, _)| n == name) {
		Some((_, values)) => values.push(value),
		None => rows.push((name.to_owned(), vec![value])),
	};
	// The largest letters that fit each class.
	let mut fits = |len: usize, class: usize| {
		let letter = Letter { sent_at: 1, content: vec![7u8; len] };
		seal_letter(&mut alice, GROUP, &letter).is_ok_and(|(sealed, _)| {
			sealed.bytes.len() < quarks_primitives::SIZE_CLASSES[class] as usize + 200
		})
	};
	let mut largest = [0usize; 2];
	for (i, class) in [0usize, 2].into_iter().enumerate() {
		// The largest length that still fits, by bisection.
		let (mut fit, mut over) = (0usize, 65_536usize);
		while over - fit > 1 {
			let mid = (fit + over) / 2;
			if fits(mid, class) {
				fit = mid;
			} else {
				over = mid;
			}
		}
		largest[i] = fit;
	}
	println!();
	println!(
		"Largest letters: {} B in the 1 KiB class, {} B in the 16 KiB class",
		largest[0], largest[1]
	);
	for len in largest {
		// A new epoch restarts the senders' message generations, which a reader may trail
		// by at most 1000.
		let update = alice.update(GROUP).expect("staged");
		alice
			.apply_commit(GROUP, update.epoch + 1, &update.message, update.ordered())
			.expect("applies");
		bob.apply_commit(GROUP, update.epoch + 1, &update.message, update.ordered())
			.expect("applies");
		let letter = Letter { sent_at: 1, content: vec![7u8; len] };
		let sealed: Vec<Vec<u8>> = (0..1000)
			.map(|_| seal_letter(&mut alice, GROUP, &letter).expect("fits").0.bytes)
			.collect();
		add_row(
			"seal (whole: MLS, AES-GCM, signature)",
			micros(200, || {
				black_box(seal_letter(&mut alice, GROUP, &letter).expect("fits"));
			}),
		);
		let mut next = sealed.iter();
		add_row(
			"open (whole: MLS, commitment, AES-GCM, signature)",
			micros(200, || {
				let bytes = next.next().expect("enough envelopes");
				let (envelope, body) = parse(bytes).expect("parses");
				let quarks_client::seal::Body::Letter { mls, .. } = &body else { unreachable!() };
				let key = bob.decrypt(GROUP, mls).expect("opens").plaintext;
				let key: [u8; 32] = key.try_into().expect("a message key");
				black_box(open_letter(&envelope, &body, &key).expect("opens"));
			}),
		);

		// The primitives, on inputs of the same size.
		add_row(
			"MLS application message of the 32-byte key (encrypt)",
			micros(200, || {
				black_box(alice.encrypt(GROUP, &[1u8; 32]).expect("encrypts"));
			}),
		);
		let body = vec![0u8; len + 120];
		let cipher = Aes256Gcm::new(&[3u8; 32].into());
		let nonce = Nonce::from_slice(&[0u8; 12]);
		let ciphertext = cipher.encrypt(nonce, Payload { msg: &body, aad: b"header" }).expect("ok");
		add_row(
			"AES-256-GCM encrypt",
			micros(500, || {
				black_box(
					cipher.encrypt(nonce, Payload { msg: &body, aad: b"header" }).expect("ok"),
				);
			}),
		);
		add_row(
			"AES-256-GCM decrypt",
			micros(500, || {
				black_box(
					cipher
						.decrypt(nonce, Payload { msg: &ciphertext, aad: b"header" })
						.expect("ok"),
				);
			}),
		);
		let signer = ed25519::Pair::from_seed(&[4u8; 32]);
		let message = vec![1u8; len + 100];
		let signature = signer.sign(&message);
		add_row(
			"Ed25519 sign",
			micros(200, || {
				black_box(signer.sign(&message));
			}),
		);
		add_row(
			"Ed25519 verify",
			micros(200, || {
				black_box(ed25519::Pair::verify(&signature, &message, &signer.public()));
			}),
		);
		let envelope = &sealed[0];
		add_row(
			"BLAKE2-256 of the envelope",
			micros(2_000, || {
				black_box(hash_of(envelope));
			}),
		);
	}
	for (name, values) in rows {
		println!("| {name} | {:.1} µs | {:.1} µs |", values[0], values[1]);
	}
}
