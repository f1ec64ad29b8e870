//! The chain's vocabulary: every call, storage item, view function, constant, event and
//! runtime API method of the runtime this client uses, named once. The client reaches the
//! chain dynamically (by name, through subxt), so nothing at compile time would notice a
//! pallet renaming what it uses; a test (`node/tests/client.rs`
//! `the_client_speaks_the_runtimes_vocabulary`) holds every name here to the runtime's
//! metadata. The chain's errors are in [`super::failures`].

use subxt::dynamic::Value;

/// A pallet's call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call(pub &'static str, pub &'static str);

impl Call {
	/// The call with named `fields`, as a value a batch carries.
	pub fn value(self, fields: Vec<(&str, Value)>) -> Value {
		Value::unnamed_variant(self.0, [Value::named_variant(self.1, fields)])
	}
}

/// A pallet's storage item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Storage(pub &'static str, pub &'static str);

/// How a storage map hashes one part of its key (FRAME's names, as its metadata gives them).
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hasher {
	/// BLAKE2-128 of the part, then the part.
	Blake2_128Concat,
	/// XXHash-64 of the part, then the part.
	Twox64Concat,
	/// The part itself.
	Identity,
}

/// A storage map and the hasher of each part of its key, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyed(pub Storage, pub &'static [Hasher]);

/// A pallet's constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Constant(pub &'static str, pub &'static str);

/// A pallet's event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event(pub &'static str, pub &'static str);

/// A runtime API method: (trait, method), called as `Trait_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeApi(pub &'static str, pub &'static str);

impl RuntimeApi {
	/// The name the node's `state_call` takes.
	pub fn method(self) -> String {
		format!("{}_{}", self.0, self.1)
	}
}

// Calls.
/// The call `Groups::create_group`.
pub const CREATE_GROUP: Call = Call("Groups", "create_group");
/// The call `Groups::add_member`.
pub const ADD_MEMBER: Call = Call("Groups", "add_member");
/// The call `Groups::remove_member`.
pub const REMOVE_MEMBER: Call = Call("Groups", "remove_member");
/// The call `Groups::commit`.
pub const COMMIT: Call = Call("Groups", "commit");
/// The call `Groups::leave`.
pub const LEAVE: Call = Call("Groups", "leave");
/// The call `Keys::add_device`.
pub const ADD_DEVICE: Call = Call("Keys", "add_device");
/// The call `Keys::publish_key_package`.
pub const PUBLISH_KEY_PACKAGE: Call = Call("Keys", "publish_key_package");
/// The call `Keys::remove_device`.
pub const REMOVE_DEVICE: Call = Call("Keys", "remove_device");
/// The call `Keys::drop_records`.
pub const DROP_RECORDS: Call = Call("Keys", "drop_records");
/// The call `Messaging::anchor`.
pub const ANCHOR: Call = Call("Messaging", "anchor");
/// The call `Messaging::acknowledge`.
pub const ACKNOWLEDGE: Call = Call("Messaging", "acknowledge");
/// The call `Balances::transfer_keep_alive`.
pub const TRANSFER: Call = Call("Balances", "transfer_keep_alive");
/// The call `Utility::batch_all`.
pub const BATCH_ALL: Call = Call("Utility", "batch_all");
/// The call `Hosts::choose_hosts`.
pub const CHOOSE_HOSTS: Call = Call("Hosts", "choose_hosts");
/// The call `Hosts::clear_hosts`.
pub const CLEAR_HOSTS: Call = Call("Hosts", "clear_hosts");
/// The call `Bounties::offer`.
pub const OFFER_BOUNTY: Call = Call("Bounties", "offer");

/// The calls that hold a deposit (or a bounty), alone or in a batch: the client tries each
/// on the best block's state before submitting it ([`super::Chain::submit`]).
pub const HOLD_DEPOSITS: [Call; 6] =
	[ADD_DEVICE, CHOOSE_HOSTS, CREATE_GROUP, ADD_MEMBER, BATCH_ALL, OFFER_BOUNTY];

// Storage items.
/// The storage item `Groups::Members`.
pub const MEMBERS: Storage = Storage("Groups", "Members");
/// The storage item `Hosts::Hosts`.
pub const HOSTS: Storage = Storage("Hosts", "Hosts");

// Storage maps read with proofs, and how each part of their keys is hashed.
/// `System::Account`: account → nonce, counters and balances.
pub const ACCOUNTS: Keyed = Keyed(Storage("System", "Account"), &[Hasher::Blake2_128Concat]);
/// `Messaging::Anchors`: (sender, root) → anchor record.
pub const ANCHORS: Keyed =
	Keyed(Storage("Messaging", "Anchors"), &[Hasher::Blake2_128Concat, Hasher::Identity]);
/// `Messaging::Receipts`: (envelope, recipient) → block.
pub const RECEIPTS: Keyed =
	Keyed(Storage("Messaging", "Receipts"), &[Hasher::Identity, Hasher::Blake2_128Concat]);
/// `Keys::Devices`: account → device records.
pub const DEVICE_RECORDS: Keyed = Keyed(Storage("Keys", "Devices"), &[Hasher::Blake2_128Concat]);
/// `Groups::Groups`: group → its state.
pub const GROUPS: Keyed = Keyed(Storage("Groups", "Groups"), &[Hasher::Twox64Concat]);
/// `Groups::Members`: (group, account) → membership.
pub const MEMBER: Keyed = Keyed(MEMBERS, &[Hasher::Twox64Concat, Hasher::Blake2_128Concat]);
/// `Groups::Commits`: (group, epoch) → the record of its commit.
pub const COMMITS: Keyed =
	Keyed(Storage("Groups", "Commits"), &[Hasher::Twox64Concat, Hasher::Twox64Concat]);
/// `Keys::KeyPackages`: device → its key package.
pub const KEY_PACKAGES: Keyed = Keyed(Storage("Keys", "KeyPackages"), &[Hasher::Blake2_128Concat]);
/// `System::BlockHash`: number → hash (block 0's kept for ever).
pub const BLOCK_HASH: Keyed = Keyed(Storage("System", "BlockHash"), &[Hasher::Twox64Concat]);
/// `Grandpa::Authorities`: the voters (GRANDPA's set 0 in a chain spec's genesis).
pub const GRANDPA_VOTERS: Keyed = Keyed(Storage("Grandpa", "Authorities"), &[]);
/// `Groups::EpochMembers`: (group, epoch of a membership change) → members.
pub const EPOCH_MEMBERS: Keyed =
	Keyed(Storage("Groups", "EpochMembers"), &[Hasher::Twox64Concat, Hasher::Twox64Concat]);
/// `Hosts::Choices`: account → the hosts it chose, in order.
pub const CHOICES: Keyed = Keyed(Storage("Hosts", "Choices"), &[Hasher::Blake2_128Concat]);
/// `Hosts::Hosts`: operator → its admitted host's record.
pub const HOST_RECORDS: Keyed = Keyed(HOSTS, &[Hasher::Blake2_128Concat]);
/// `Hosts::AllowPrivateEndpoints`: whether hosts may name private addresses.
pub const ALLOW_PRIVATE_ENDPOINTS: Keyed = Keyed(Storage("Hosts", "AllowPrivateEndpoints"), &[]);

// Constants.
/// The constant `Groups::MinUpdateInterval`.
pub const MIN_UPDATE_INTERVAL: Constant = Constant("Groups", "MinUpdateInterval");
/// The constant `Balances::ExistentialDeposit`.
pub const EXISTENTIAL_DEPOSIT: Constant = Constant("Balances", "ExistentialDeposit");

// Events.
/// The event `Groups::GroupCreated`.
pub const GROUP_CREATED: Event = Event("Groups", "GroupCreated");

// Runtime API methods.
/// The runtime API method `AuraApi_slot_duration`.
pub const SLOT_DURATION: RuntimeApi = RuntimeApi("AuraApi", "slot_duration");
/// The runtime API method `HostingApi_anchor`.
pub const ANCHOR_OF: RuntimeApi = RuntimeApi("HostingApi", "anchor");
/// The runtime API method `HostingApi_anchors`.
pub const ANCHORS_OF: RuntimeApi = RuntimeApi("HostingApi", "anchors");
/// The runtime API method `AccountNonceApi_account_nonce`.
pub const ACCOUNT_NONCE: RuntimeApi = RuntimeApi("AccountNonceApi", "account_nonce");
/// The runtime API method `BlockBuilder_apply_extrinsic`.
pub const APPLY_EXTRINSIC: RuntimeApi = RuntimeApi("BlockBuilder", "apply_extrinsic");

/// Every name above, for the test that holds them to the metadata.
pub const CALLS: &[Call] = &[
	CREATE_GROUP,
	ADD_MEMBER,
	REMOVE_MEMBER,
	COMMIT,
	LEAVE,
	ADD_DEVICE,
	PUBLISH_KEY_PACKAGE,
	REMOVE_DEVICE,
	DROP_RECORDS,
	ANCHOR,
	ACKNOWLEDGE,
	TRANSFER,
	BATCH_ALL,
	CHOOSE_HOSTS,
	CLEAR_HOSTS,
	OFFER_BOUNTY,
];
/// Every storage item above.
pub const STORAGE: &[Storage] = &[MEMBERS, HOSTS];
/// Every storage map read with proofs.
pub const PROVEN: &[Keyed] = &[
	ACCOUNTS,
	ANCHORS,
	RECEIPTS,
	DEVICE_RECORDS,
	GROUPS,
	MEMBER,
	COMMITS,
	EPOCH_MEMBERS,
	GRANDPA_VOTERS,
	KEY_PACKAGES,
	BLOCK_HASH,
	CHOICES,
	HOST_RECORDS,
	ALLOW_PRIVATE_ENDPOINTS,
];
/// Every constant above.
pub const CONSTANTS: &[Constant] = &[MIN_UPDATE_INTERVAL, EXISTENTIAL_DEPOSIT];
/// Every event above.
pub const EVENTS: &[Event] = &[GROUP_CREATED];
/// Every runtime API method above.
pub const RUNTIME_APIS: &[RuntimeApi] =
	&[SLOT_DURATION, ANCHOR_OF, ANCHORS_OF, ACCOUNT_NONCE, APPLY_EXTRINSIC];

/// What of the above the runtime described by `metadata` lacks (or keys otherwise), as
/// `Pallet::name`: empty when this client speaks that runtime. A client checks it when it
/// connects, so a runtime it cannot speak is refused in a sentence, not met halfway
/// through a send.
pub fn missing(metadata: &subxt::Metadata) -> Vec<String> {
	let mut missing = Vec::new();
	let mut lacks = |what: &str, pallet: &str, name: &str| {
		missing.push(format!("{what} {pallet}::{name}"));
	};
	for Call(pallet, name) in CALLS {
		if metadata.pallet_by_name(pallet).and_then(|p| p.call_variant_by_name(name)).is_none() {
			lacks("call", pallet, name);
		}
	}
	let entry = |pallet: &str, name: &str| {
		metadata
			.pallet_by_name(pallet)
			.and_then(|p| p.storage())
			.and_then(|s| s.entry_by_name(name))
	};
	for Storage(pallet, name) in STORAGE {
		if entry(pallet, name).is_none() {
			lacks("storage", pallet, name);
		}
	}
	// The client builds these keys itself, to prove what it reads.
	for Keyed(Storage(pallet, name), hashers) in PROVEN {
		let runtime: Option<Vec<String>> =
			entry(pallet, name).map(|e| e.keys().map(|key| format!("{:?}", key.hasher)).collect());
		let client: Vec<String> = hashers.iter().map(|hasher| format!("{hasher:?}")).collect();
		if runtime.as_ref() != Some(&client) {
			lacks("storage keyed as", pallet, name);
		}
	}
	for Constant(pallet, name) in CONSTANTS {
		if metadata.pallet_by_name(pallet).and_then(|p| p.constant_by_name(name)).is_none() {
			lacks("constant", pallet, name);
		}
	}
	for Event(pallet, name) in EVENTS {
		let events = metadata.pallet_by_name(pallet).and_then(|p| p.event_variants());
		if !events.unwrap_or_default().iter().any(|v| v.name == *name) {
			lacks("event", pallet, name);
		}
	}
	for RuntimeApi(api, name) in RUNTIME_APIS {
		let method = metadata.runtime_api_trait_by_name(api).and_then(|a| a.method_by_name(name));
		if method.is_none() {
			lacks("runtime API", api, name);
		}
	}
	missing
}
