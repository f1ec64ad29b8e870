//! Per-sender admission: how fast each account may submit, as token buckets. Nodes check it
//! before accepting a submission, hosts before keeping an envelope pending its anchor, so
//! no sender can crowd out the others.

use parking_lot::Mutex;
use quarks_runtime::AccountId;
use std::{
	collections::HashMap,
	time::{Duration, Instant},
};

/// Buckets idle this long are forgotten, so the table holds only active senders.
const IDLE: Duration = Duration::from_secs(60);

/// Token buckets per sender: `rate` envelopes per second sustained, bursts of `burst`.
pub struct SenderLimits {
	rate: f64,
	burst: f64,
	buckets: Mutex<(HashMap<AccountId, (f64, Instant)>, Instant)>,
}

impl SenderLimits {
	/// Limits of `rate` per second, with bursts of `burst`.
	pub fn new(rate: f64, burst: f64) -> Self {
		SenderLimits { rate, burst, buckets: Mutex::new((HashMap::new(), Instant::now())) }
	}

	/// Takes one token from `sender`'s bucket; `false` if it is empty.
	pub fn admit(&self, sender: &AccountId) -> bool {
		self.admit_at(sender, Instant::now())
	}

	fn admit_at(&self, sender: &AccountId, now: Instant) -> bool {
		let mut guard = self.buckets.lock();
		let (buckets, swept) = &mut *guard;
		if now.duration_since(*swept) > IDLE {
			buckets.retain(|_, (_, last)| now.duration_since(*last) < IDLE);
			*swept = now;
		}
		let (tokens, last) = buckets.entry(sender.clone()).or_insert((self.burst, now));
		*tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * self.rate)
			.min(self.burst);
		*last = (*last).max(now);
		if *tokens >= 1.0 {
			*tokens -= 1.0;
			true
		} else {
			false
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_sender_gets_its_burst_then_its_rate_and_others_are_not_affected() {
		// Times are given, not slept, so a slow machine cannot refill a bucket early.
		let limits = SenderLimits::new(10.0, 3.0);
		let (alice, bob) = (AccountId::new([1; 32]), AccountId::new([2; 32]));
		let start = Instant::now();
		let at = |ms: u64| start + Duration::from_millis(ms);
		assert!((0..3).all(|_| limits.admit_at(&alice, at(0))));
		assert!(!limits.admit_at(&alice, at(0)), "burst spent");
		assert!(limits.admit_at(&bob, at(0)), "Bob has his own bucket");
		assert!(!limits.admit_at(&alice, at(50)), "half a token at 10 a second");
		assert!(limits.admit_at(&alice, at(120)), "1.2 tokens");
		assert!(!limits.admit_at(&alice, at(120)), "0.2 left");
		// An idle hour refills the burst, no more.
		assert!((0..3).all(|_| limits.admit_at(&alice, at(3_600_000))));
		assert!(!limits.admit_at(&alice, at(3_600_000)), "a bucket holds at most its burst");
	}
}
