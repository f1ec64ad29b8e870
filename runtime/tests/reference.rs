//! docs/protocol.md's reference of what a client calls and reads — every call of the Quarks
//! pallets with its index and arguments, every storage item with its key and value, every
//! runtime API method — is generated from the runtime's own metadata, and this test fails
//! when the runtime and the document part ways. To write the document again:
//!
//!     QUARKS_UPDATE_DOCS=1 cargo test -p quarks-runtime --test reference

use codec::Decode;
use frame_metadata::{
	v15::{RuntimeMetadataV15, StorageEntryType},
	RuntimeMetadata, RuntimeMetadataPrefixed,
};
use scale_info::{PortableRegistry, TypeDef};
use std::{fmt::Write, path::Path};

/// The pallets a Quarks client speaks to.
const PALLETS: [&str; 5] = ["Keys", "Hosts", "Groups", "Messaging", "Bounties"];
const BEGIN: &str = "<!-- The reference below is generated from the runtime's metadata by runtime/tests/reference.rs: edit the pallets' doc comments, not this text. -->";
const END: &str = "<!-- End of the generated reference. -->";

fn metadata() -> RuntimeMetadataV15 {
	let bytes = quarks_runtime::Runtime::metadata_at_version(15).expect("metadata V15");
	let prefixed = RuntimeMetadataPrefixed::decode(&mut &bytes[..]).expect("decodes");
	match prefixed.1 {
		RuntimeMetadata::V15(metadata) => metadata,
		_ => panic!("not V15"),
	}
}

/// A type as Rust spells it, from the registry.
fn spelled(types: &PortableRegistry, id: u32) -> String {
	let ty = types.resolve(id).expect("a registered type");
	let list = |ids: Vec<u32>| ids.into_iter().map(|id| spelled(types, id)).collect::<Vec<_>>();
	match &ty.type_def {
		TypeDef::Primitive(p) => format!("{p:?}").to_lowercase(),
		TypeDef::Sequence(s) => format!("Vec<{}>", spelled(types, s.type_param.id)),
		TypeDef::Array(a) => format!("[{}; {}]", spelled(types, a.type_param.id), a.len),
		TypeDef::Tuple(t) => {
			format!("({})", list(t.fields.iter().map(|f| f.id).collect()).join(", "))
		}
		TypeDef::Compact(c) => format!("Compact<{}>", spelled(types, c.type_param.id)),
		_ => {
			let name = ty.path.segments.last().cloned().unwrap_or_else(|| "?".into());
			let params: Vec<u32> =
				ty.type_params.iter().filter_map(|p| p.ty.map(|t| t.id)).collect();
			if params.is_empty() {
				name
			} else {
				format!("{name}<{}>", list(params).join(", "))
			}
		}
	}
}

fn first_line(docs: &[String]) -> String {
	docs.iter().map(|d| d.trim()).take_while(|d| !d.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The reference, in Markdown.
fn reference() -> String {
	let m = metadata();
	let types = &m.types;
	let mut out = String::new();
	let _ = writeln!(out, "### Calls\n");
	let _ =
		writeln!(out, "Call index is (pallet index, call index), as encoded in an extrinsic.\n");
	let _ = writeln!(out, "| call | index | arguments | what it does |\n|---|---|---|---|");
	let pallets = m.pallets.iter().filter(|p| PALLETS.contains(&p.name.as_str()));
	for pallet in pallets.clone() {
		let Some(calls) = &pallet.calls else { continue };
		let TypeDef::Variant(variants) = &types.resolve(calls.ty.id).expect("calls").type_def
		else {
			continue;
		};
		for call in &variants.variants {
			let arguments: Vec<String> = call
				.fields
				.iter()
				.map(|f| {
					let name = f.name.clone().unwrap_or_default();
					format!("{name}: {}", spelled(types, f.ty.id))
				})
				.collect();
			let _ = writeln!(
				out,
				"| `{}.{}` | ({}, {}) | `{}` | {} |",
				pallet.name,
				call.name,
				pallet.index,
				call.index,
				arguments.join(", "),
				first_line(&call.docs)
			);
		}
	}
	let _ = writeln!(out, "\n### Storage\n");
	let _ = writeln!(out, "| item | key | value | what it holds |\n|---|---|---|---|");
	for pallet in pallets {
		let Some(storage) = &pallet.storage else { continue };
		for entry in &storage.entries {
			let (key, value) = match &entry.ty {
				StorageEntryType::Plain(value) => ("—".to_owned(), spelled(types, value.id)),
				StorageEntryType::Map { hashers, key, value } => (
					format!("`{}` ({hashers:?})", spelled(types, key.id)),
					spelled(types, value.id),
				),
			};
			let _ = writeln!(
				out,
				"| `{}::{}` | {key} | `{value}` | {} |",
				storage.prefix,
				entry.name,
				first_line(&entry.docs)
			);
		}
	}
	let _ = writeln!(out, "\n### Runtime APIs\n");
	let _ = writeln!(
		out,
		"Called as `state_call` with method `<Api>_<method>` and the SCALE-encoded arguments.\n"
	);
	let _ = writeln!(out, "| method | arguments | answer | what it answers |\n|---|---|---|---|");
	for api in
		m.apis.iter().filter(|a| a.name.starts_with("Hosting") || a.name.starts_with("Quarks"))
	{
		for method in &api.methods {
			let inputs: Vec<String> = method
				.inputs
				.iter()
				.map(|i| format!("{}: {}", i.name, spelled(types, i.ty.id)))
				.collect();
			let _ = writeln!(
				out,
				"| `{}_{}` | `{}` | `{}` | {} |",
				api.name,
				method.name,
				inputs.join(", "),
				spelled(types, method.output.id),
				first_line(&method.docs)
			);
		}
	}
	out.replace("| `` |", "| — |")
}

#[test]
fn the_protocol_reference_is_the_runtimes() {
	let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
	let doc = std::fs::read_to_string(&path).expect("docs/protocol.md");
	let (before, rest) = doc.split_once(BEGIN).expect("docs/protocol.md has the reference's start");
	let (section, after) = rest.split_once(END).expect("docs/protocol.md has the reference's end");
	let generated = format!("\n\n{}\n", reference().trim_end());
	if std::env::var_os("QUARKS_UPDATE_DOCS").is_some() {
		std::fs::write(&path, format!("{before}{BEGIN}{generated}{END}{after}")).expect("writes");
		return;
	}
	assert!(
		section == generated,
		"docs/protocol.md's reference is not the runtime's: a call, storage item or runtime API \
		 changed. Write it again: QUARKS_UPDATE_DOCS=1 cargo test -p quarks-runtime --test reference"
	);
}

/// The reference names what a client needs: a sample of what the third-party client had
/// to take from metadata.
#[test]
fn the_reference_names_the_calls_storage_and_apis_a_client_uses() {
	let reference = reference();
	for needle in [
		"`Hosts.choose_hosts`",
		"`Keys.add_device`",
		"`Messaging.anchor`",
		"`Messaging.acknowledge`",
		"`Messaging::Anchors`",
		"`Messaging::Receipts`",
		"`Keys::Devices`",
		"`HostingApi_anchor`",
	] {
		assert!(reference.contains(needle), "{needle} missing from the reference");
	}
}

/// A pallet renamed or removed is noticed, not silently left out of the reference.
#[test]
fn every_pallet_the_reference_covers_is_in_the_runtime() {
	let m = metadata();
	let names: Vec<&str> = m.pallets.iter().map(|p| p.name.as_str()).collect();
	for pallet in PALLETS {
		assert!(names.contains(&pallet), "{pallet} is not in the runtime");
	}
}
