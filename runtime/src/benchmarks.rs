//! The pallets whose benchmarks the runtime exposes to frame-benchmarking-cli.

frame_benchmarking::define_benchmarks!(
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_utility, Utility]
	[pallet_validator_set, ValidatorSet]
	[pallet_quarks_keys, Keys]
	[pallet_quarks_hosts, Hosts]
	[pallet_quarks_groups, Groups]
	[pallet_quarks_messaging, Messaging]
	[pallet_quarks_bounties, Bounties]
);
