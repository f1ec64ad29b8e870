//! Coverage-guided fuzzing of every decoder a hostile caller reaches through RPC or a host
//! request (`../check.rs`, the checks the property tests run):
//!
//!     cd primitives/fuzz && cargo +nightly fuzz run decoders -- -runs=1000000

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| check(bytes));

include!("../check.rs");
