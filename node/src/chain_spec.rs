//! Chain specifications. Genesis lives in the runtime: a development spec names one of its
//! presets, an operators' network spec carries the genesis the runtime's
//! `network_genesis` built from their keys (`quarks-node network spec`).

use quarks_runtime::WASM_BINARY;
use sc_service::ChainType;

/// Specialized `ChainSpec`.
pub type ChainSpec = sc_service::GenericChainSpec;

fn properties() -> sc_service::Properties {
	serde_json::json!({
		"tokenSymbol": "QRK",
		"tokenDecimals": 12,
		"ss58Format": quarks_runtime::configs::SS58Prefix::get(),
	})
	.as_object()
	.cloned()
	.unwrap_or_default()
}

fn spec(name: &str, id: &str, chain_type: ChainType, preset: &str) -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(WASM_BINARY.ok_or("the runtime's WASM blob was not built")?, None)
		.with_name(name)
		.with_id(id)
		.with_chain_type(chain_type)
		.with_genesis_config_preset_name(preset)
		.with_properties(properties())
		.build())
}

/// One validator (Alice): `--dev`.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	spec(
		"Quarks Development",
		"quarks_dev",
		ChainType::Development,
		sp_genesis_builder::DEV_RUNTIME_PRESET,
	)
}

/// Three validators (Alice, Bob, Charlie) and Dave's authorised full node: `--chain local`.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	spec(
		"Quarks Local Testnet",
		"quarks_local",
		ChainType::Local,
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET,
	)
}

/// A live network of its operators' own keys, with the genesis config `genesis`.
pub fn network_chain_spec(
	name: &str,
	id: &str,
	genesis: serde_json::Value,
	bootnodes: &[String],
) -> Result<ChainSpec, String> {
	let bootnodes = bootnodes
		.iter()
		.map(|addr| addr.parse().map_err(|e| format!("bootnode {addr:?}: {e}")))
		.collect::<Result<Vec<sc_network::config::MultiaddrWithPeerId>, String>>()?;
	Ok(ChainSpec::builder(WASM_BINARY.ok_or("the runtime's WASM blob was not built")?, None)
		.with_name(name)
		.with_id(id)
		.with_chain_type(ChainType::Live)
		.with_genesis_config(genesis)
		.with_boot_nodes(bootnodes)
		.with_properties(properties())
		.build())
}
