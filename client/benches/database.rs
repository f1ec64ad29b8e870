//! Figures for docs/performance.md: the local message database with a conversation of
//! 100,000 messages, on disk. Nothing is asserted; run with
//!
//!     cargo bench -p quarks-client --bench database
//!
//! - Recording a message: each one its own durable transaction, as the client records.
//! - Opening the database, and the conversation list.
//! - The latest page of 50, and pages of 50 from random places deep in the history.
//! - Bytes on disk per 1,000 messages of about 100 characters.

use quarks_client::database::{Before, Database, Message, MessageState};
use sp_core::{crypto::AccountId32, H256};
use std::{
	hint::black_box,
	time::{Duration, Instant},
};

const MESSAGES: u32 = 100_000;
const PAGE: u32 = 50;
const GROUP: u64 = 7;
const KEY: [u8; 32] = [7; 32];

fn percentiles(mut samples: Vec<Duration>) -> String {
	samples.sort();
	let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
	format!("p50 {:.3} ms, p99 {:.3} ms ({} runs)", at(0.5), at(0.99), samples.len())
}

fn message(i: u32) -> Message {
	let mut hash = [0u8; 32];
	hash[..4].copy_from_slice(&i.to_be_bytes());
	Message {
		hash: H256(hash),
		group: GROUP,
		sender: AccountId32::new([(i % 2) as u8; 32]),
		outgoing: i % 2 == 0,
		text: format!("message {i:06}: lunch at noon, then the review of the quarterly figures?"),
		at: 1_760_000_000_000 + u64::from(i) * 1_000,
		state: MessageState::Final(i),
		read_by: 0,
		delivered_to: 0,
	}
}

fn main() {
	let dir = tempfile::tempdir().expect("temp dir");
	let keystore = dir.path().join("me.json");
	let db = Database::beside(&keystore, KEY).expect("opens");
	db.add_conversation(GROUP, Some(&AccountId32::new([1; 32])), 0).expect("adds");
	let started = Instant::now();
	let mut records = Vec::new();
	for i in 0..MESSAGES {
		let one = Instant::now();
		db.record(&message(i)).expect("records");
		records.push(one.elapsed());
	}
	println!(
		"record {MESSAGES} messages: {:.1} s in all; one: {}",
		started.elapsed().as_secs_f64(),
		percentiles(records)
	);
	drop(db);
	let bytes: u64 = std::fs::read_dir(dir.path())
		.expect("lists")
		.filter_map(|entry| entry.ok()?.metadata().ok())
		.map(|metadata| metadata.len())
		.sum();
	println!(
		"on disk: {:.1} MiB, {:.0} KiB per 1,000 messages",
		bytes as f64 / (1 << 20) as f64,
		bytes as f64 / 1024.0 / f64::from(MESSAGES / 1000)
	);

	let opens: Vec<Duration> = (0..20)
		.map(|_| {
			let one = Instant::now();
			black_box(Database::beside(&keystore, KEY).expect("opens"));
			one.elapsed()
		})
		.collect();
	println!("open the database: {}", percentiles(opens));
	let db = Database::beside(&keystore, KEY).expect("opens");
	let lists: Vec<Duration> = (0..200)
		.map(|_| {
			let one = Instant::now();
			black_box(db.conversations().expect("lists"));
			one.elapsed()
		})
		.collect();
	println!("conversation list: {}", percentiles(lists));
	let latest: Vec<Duration> = (0..200)
		.map(|_| {
			let one = Instant::now();
			assert_eq!(db.history(GROUP, None, PAGE).expect("pages").len(), PAGE as usize);
			one.elapsed()
		})
		.collect();
	println!("latest page of {PAGE}: {}", percentiles(latest));
	// Deep in the history: before message i, for i spread over the conversation.
	let deep: Vec<Duration> = (0..200u32)
		.map(|n| {
			let i = PAGE + (n * 7_919) % (MESSAGES - PAGE);
			let m = message(i);
			let before = Before { at: m.at, hash: m.hash };
			let one = Instant::now();
			let page = db.history(GROUP, Some(&before), PAGE).expect("pages");
			let elapsed = one.elapsed();
			assert_eq!(page.last().map(|m| m.hash), Some(message(i - 1).hash));
			elapsed
		})
		.collect();
	println!("a page of {PAGE} deep in the history: {}", percentiles(deep));
}
