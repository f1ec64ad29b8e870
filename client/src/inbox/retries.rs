//! Mail that may open later (its welcome or commit may still come), tried again after
//! waits that double, for a while, and only so many per sender: a member or any account
//! with a device that floods a recipient with mail that never opens costs it a few chain
//! reads per envelope, not two a second for two minutes, and a bounded share of its memory.

use sp_core::crypto::AccountId32;
use std::time::{Duration, Instant};

/// How long mail that may yet open is tried again, from when it was first seen.
pub(super) const RETRY_FOR: Duration = Duration::from_secs(120);
/// The wait before the first retry; each later one doubles, up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(500);
/// The longest wait between two tries.
const LONGEST_WAIT: Duration = Duration::from_secs(16);
/// Most envelopes of one sender waiting to be tried again.
pub(super) const MAX_PER_SENDER: usize = 64;
/// Most envelopes waiting to be tried again, from all senders.
const MAX_WAITING: usize = 4096;

/// Something to try again, from `sender`, first seen `since`, tried again `attempts` times.
pub(super) struct Retry<T> {
	pub item: T,
	pub sender: AccountId32,
	pub since: Instant,
	pub attempts: u32,
}

/// What waits to be tried again, each until its time.
pub(super) struct Retries<T> {
	waiting: Vec<(Instant, Retry<T>)>,
}

impl<T> Default for Retries<T> {
	fn default() -> Self {
		Self { waiting: Vec::new() }
	}
}

impl<T> Retries<T> {
	/// Keeps `retry` to be tried again after its wait, counted from `now`; gives it back if
	/// its time is up, or its sender, or everyone, has as many waiting as they may.
	pub fn keep(&mut self, retry: Retry<T>, now: Instant) -> Result<(), Retry<T>> {
		let from_sender = self.waiting.iter().filter(|(_, r)| r.sender == retry.sender).count();
		if now.saturating_duration_since(retry.since) >= RETRY_FOR
			|| from_sender >= MAX_PER_SENDER
			|| self.waiting.len() >= MAX_WAITING
		{
			return Err(retry);
		}
		let wait = FIRST_WAIT.saturating_mul(2u32.saturating_pow(retry.attempts)).min(LONGEST_WAIT);
		self.waiting.push((now + wait, retry));
		Ok(())
	}

	/// Takes what is due at `now`, in the order it was kept, counting this try; the rest
	/// keeps waiting.
	pub fn due(&mut self, now: Instant) -> Vec<Retry<T>> {
		let (due, waiting): (Vec<_>, Vec<_>) =
			std::mem::take(&mut self.waiting).into_iter().partition(|(at, _)| *at <= now);
		self.waiting = waiting;
		due.into_iter()
			.map(|(_, retry)| Retry { attempts: retry.attempts.saturating_add(1), ..retry })
			.collect()
	}

	/// Moves every first-seen time on by the time from `from` to `to`, during which nothing
	/// could be tried (the chain did not answer): an outage uses up no sender's time. What
	/// was first seen during it moves by the part of it after that.
	pub fn postpone(&mut self, from: Instant, to: Instant) {
		for (_, retry) in &mut self.waiting {
			let away = to.saturating_duration_since(retry.since.max(from));
			retry.since = retry.since.checked_add(away).unwrap_or(retry.since);
		}
	}

	/// Whether nothing waits.
	pub fn is_empty(&self) -> bool {
		self.waiting.is_empty()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn retry(sender: u8, since: Instant, attempts: u32) -> Retry<u32> {
		Retry { item: attempts, sender: AccountId32::new([sender; 32]), since, attempts }
	}

	#[test]
	fn each_try_waits_twice_as_long_as_the_last_up_to_a_bound() {
		let start = Instant::now();
		let mut retries = Retries::default();
		let (mut now, mut tries) = (start, Vec::new());
		// Every try fails again, and is kept again; record when each came due.
		let mut next = retry(1, start, 0);
		while retries.keep(next, now).is_ok() {
			next = loop {
				now += Duration::from_millis(100);
				if let Some(due) = retries.due(now).pop() {
					tries.push(now - start);
					assert_eq!(due.attempts as usize, tries.len());
					break due;
				}
			};
		}
		assert!(retries.is_empty());
		let gaps: Vec<u64> = tries
			.iter()
			.scan(Duration::ZERO, |last, at| {
				let gap = *at - *last;
				*last = *at;
				Some(gap.as_millis() as u64)
			})
			.collect();
		assert_eq!(gaps[..7], [500u64, 1000, 2000, 4000, 8000, 16000, 16000]);
		// Two minutes cost 12 tries (the last one kept before the time was up), where a try
		// every half second made 240.
		assert_eq!(tries.len(), 12, "{gaps:?}");
		assert!(*tries.last().expect("tried") < RETRY_FOR + LONGEST_WAIT);
	}

	#[test]
	fn time_the_chain_did_not_answer_is_no_senders() {
		let start = Instant::now();
		let (outage, back) = (start + Duration::from_secs(100), start + Duration::from_secs(200));
		let mut retries = Retries::default();
		// Seen before the outage, and during it.
		assert!(retries.keep(retry(1, start, 0), start).is_ok());
		let during = start + Duration::from_secs(150);
		assert!(retries.keep(retry(2, during, 0), during).is_ok());
		retries.postpone(outage, back);
		let mut due = retries.due(back);
		due.sort_by_key(|r| r.since);
		let since: Vec<Duration> = due.iter().map(|r| r.since - start).collect();
		// 100 s of the first's two minutes went before the outage; the second's went not at
		// all: both may be kept again after it.
		assert_eq!(since, [Duration::from_secs(100), Duration::from_secs(200)]);
		for retry in due {
			assert!(retries.keep(retry, back).is_ok(), "its time is not up");
		}
		// Without the outage taken out, the first's time would be up.
		assert!(retries.keep(retry(1, start, 1), back).is_err());
	}

	#[test]
	fn one_sender_cannot_take_every_place() {
		let now = Instant::now();
		let mut retries = Retries::default();
		for _ in 0..MAX_PER_SENDER {
			assert!(retries.keep(retry(1, now, 0), now).is_ok());
		}
		assert!(retries.keep(retry(1, now, 0), now).is_err(), "the sender's share is full");
		assert!(retries.keep(retry(2, now, 0), now).is_ok(), "another sender still has room");
		// Nothing is due before its wait, everything after.
		assert!(retries.due(now + Duration::from_millis(499)).is_empty());
		assert_eq!(retries.due(now + FIRST_WAIT).len(), MAX_PER_SENDER + 1);
		assert!(retries.is_empty());
	}

	#[test]
	fn all_senders_together_wait_in_a_bounded_queue() {
		let now = Instant::now();
		let mut retries = Retries::default();
		let mut kept = 0;
		// More senders than the queue holds at their share each.
		for sender in 0..=(MAX_WAITING / MAX_PER_SENDER) as u8 {
			for _ in 0..MAX_PER_SENDER {
				kept += usize::from(retries.keep(retry(sender, now, 0), now).is_ok());
			}
		}
		assert_eq!(kept, MAX_WAITING);
		let late = now + RETRY_FOR;
		assert!(Retries::default().keep(retry(1, now, 0), late).is_err(), "its time is up");
	}
}
