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
		let now = Instant::now();
		let mut guard = self.buckets.lock();
		let (buckets, swept) = &mut *guard;
		if now.duration_since(*swept) > IDLE {
			buckets.retain(|_, (_, last)| now.duration_since(*last) < IDLE);
			*swept = now;
		}
		let (tokens, last) = buckets.entry(sender.clone()).or_insert((self.burst, now));
		*tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
		*last = now;
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
		let limits = SenderLimits::new(1000.0, 3.0);
		let (alice, bob) = (AccountId::new([1; 32]), AccountId::new([2; 32]));
		assert!((0..3).all(|_| limits.admit(&alice)));
		assert!(!limits.admit(&alice), "burst spent");
		assert!(limits.admit(&bob), "Bob has his own bucket");
		std::thread::sleep(Duration::from_millis(5));
		assert!(limits.admit(&alice), "refilled at the rate");
	}
}
