//! Builds the runtime's WASM blob, and the next version's for the upgrade rehearsal.

fn main() {
	#[cfg(feature = "std")]
	{
		// The runtime tools/try-runtime compiles natively needs no blob, and one built with
		// `try-runtime` would land where the real one is, for the next build to embed.
		#[cfg(feature = "try-runtime")]
		std::env::set_var("SKIP_WASM_BUILD", "1");
		// This runtime with `spec_version` one higher (feature `upgrade-rehearsal`), which
		// node/tests/upgrade.rs sets on a running network. Built first, so that the blob
		// project's last build is the runtime itself.
		substrate_wasm_builder::WasmBuilder::init_with_defaults()
			.enable_feature("upgrade-rehearsal")
			.set_file_name("wasm_binary_rehearsal.rs")
			.build();
		substrate_wasm_builder::WasmBuilder::build_using_defaults();
	}
}
