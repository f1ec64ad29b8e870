// Hostile inputs for property tests: random bytes and mutations (flipped, replaced,
// inserted, deleted and truncated bytes) of valid encodings, from a seeded generator so a
// failure is reproducible (`DECODER_SEED`); `DECODER_INPUTS` sets how many.
// Included by `primitives/tests/decoders.rs` and `runtime/tests/extrinsics.rs`.

/// xorshift64*: enough spread for inputs, reproducible from a seed.
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 >> 12;
		self.0 ^= self.0 << 25;
		self.0 ^= self.0 >> 27;
		self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
	}

	fn below(&mut self, n: usize) -> usize {
		(self.next() % n.max(1) as u64) as usize
	}

	fn bytes(&mut self, len: usize) -> Vec<u8> {
		(0..len).map(|_| self.next() as u8).collect()
	}

	fn mutate(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
		for _ in 0..=self.below(4) {
			let at = self.below(bytes.len() + 1);
			match self.below(5) {
				0 if !bytes.is_empty() => {
					let at = at.min(bytes.len() - 1);
					bytes[at] ^= 1 << self.below(8);
				}
				1 if !bytes.is_empty() => {
					let at = at.min(bytes.len() - 1);
					bytes[at] = self.next() as u8;
				}
				2 => bytes.insert(at, self.next() as u8),
				3 if at < bytes.len() => {
					bytes.remove(at);
				}
				_ => bytes.truncate(at),
			}
		}
		bytes
	}
}

/// `DECODER_INPUTS` inputs (20,000 by default): a quarter random bytes, the rest mutated
/// `seeds`, then every seed itself.
fn hostile_inputs(seeds: &[Vec<u8>]) -> impl Iterator<Item = Vec<u8>> + '_ {
	let inputs = std::env::var("DECODER_INPUTS").ok().and_then(|n| n.parse().ok());
	let seed = std::env::var("DECODER_SEED").ok().and_then(|n| n.parse().ok());
	let mut rng = Rng(seed.unwrap_or(0x5157_4152_4b53));
	let mutated = (0..inputs.unwrap_or(20_000)).map(move |_| {
		if rng.below(4) == 0 {
			let len = rng.below(2048);
			rng.bytes(len)
		} else {
			let seed = seeds[rng.below(seeds.len())].clone();
			rng.mutate(seed)
		}
	});
	mutated.chain(seeds.iter().cloned())
}
