#!/usr/bin/env bash
# Reruns the mutations docs/security.md lists beside its claims: each one breaks the code a
# claim rests on (one exact text replaced), runs the test that claim cites, and expects it
# to FAIL; then puts the code back. A mutation whose test still passes is reported MISSED:
# that test proves less than the doc says. For reviewers, not CI: the node-level ones start
# a local network each (minutes apiece); `--fast` runs the unit-level ones only (about 30 s
# each warm).
#
#   bash scripts/mutants.sh [--fast] [NAME...]    # all, or only the mutations named
#   bash scripts/mutants.sh --list
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$QUARKS_ROOT"

# name | slow? | file | text | replacement | cargo test arguments
mutations() {
  m past-epochs fast client/src/mls.rs \
    'pub const PAST_EPOCHS: usize = 2;' 'pub const PAST_EPOCHS: usize = 5;' \
    -p quarks-client --lib a_stolen_state_opens_no_message_read_before
  m used-key-kept fast client/src/mls.rs \
    'pub fn decrypt(&mut self, group: GroupId, message: &[u8]) -> Result<Opened, MlsError> {' \
    'pub fn decrypt(&mut self, group: GroupId, message: &[u8]) -> Result<Opened, MlsError> { let before = self.provider.storage.values.read().map_err(|_| poisoned())?.clone(); let opened = self.decrypt_keeping(group, message); *self.provider.storage.values.write().map_err(|_| poisoned())? = before; opened } fn decrypt_keeping(&mut self, group: GroupId, message: &[u8]) -> Result<Opened, MlsError> {' \
    -p quarks-client --lib a_stolen_state_opens_no_message_read_before
  m removes-nobody fast client/src/mls/commits.rs \
    'stage(provider, signer, &mut mls, adds, removals)?;' 'stage(provider, signer, &mut mls, adds, { drop(removals); Vec::new() })?;' \
    -p quarks-client --lib a_removed_member_reads_nothing_sent_after_its_removal
  m no-create-new fast client/src/files.rs \
    '.write(true).create_new(true).mode(0o600)' '.write(true).create(true).truncate(true).mode(0o600)' \
    -p quarks-client --lib a_file_planted_at_the_temporary_name
  m double-rate fast node/src/hosting/sender_limits.rs \
    'as_secs_f64() * self.rate)' 'as_secs_f64() * self.rate * 2.0)' \
    -p quarks-node --bin quarks-node a_sender_gets_its_burst_then_its_rate
  m faster-fees fast runtime/src/configs/mod.rs \
    'Multiplier::saturating_from_rational(1, 1_000)' 'Multiplier::saturating_from_rational(1, 500)' \
    -p quarks-runtime --lib congestion_raises_fees
  m fewer-records fast runtime/src/configs/mod.rs \
    'type MaxKeptCommits = ConstU32<64>;' 'type MaxKeptCommits = ConstU32<32>;' \
    -p quarks-runtime --lib the_documented_limits_are_the_runtimes
  m private-endpoints fast pallets/hosts/src/lib.rs \
    'AllowPrivateEndpoints::<T>::get() || is_public(&endpoint)' 'true || is_public(&endpoint)' \
    -p pallet-quarks-hosts private_endpoints_only_where_the_network_allows_them
  m self-paid-bounty fast pallets/messaging/src/lib.rs \
    '.filter(|host| chosen.contains(host) && **host != who && item.sender != who);' '.filter(|host| chosen.contains(host));' \
    -p pallet-quarks-messaging a_receipt_naming_a_chosen_host_is_reported_for_its_bounty
  m bounty-outlives-anchor fast pallets/bounties/src/lib.rs \
    'let expires_at = anchor.anchored_at.saturating_add(T::Retention::get());' 'let expires_at = anchor.anchored_at.saturating_add(T::Retention::get()).saturating_add(T::Retention::get());' \
    -p pallet-quarks-bounties what_is_left_returns_to_the_sender_when_the_anchor_is_pruned
  m no-slot-share fast pallets/messaging/src/lib.rs \
    '.max(Pallet::<T>::slot_share(items.len() as u32, T::MaxReceiptsPerBlock::get()))' '' \
    -p quarks-runtime --lib full_receipt_or_anchor_slots_raise_fees
  m longer-run-budget fast pallets/messaging/src/relay_worker.rs \
    'const RUN_BUDGET_MS: u64 = 8_000;' 'const RUN_BUDGET_MS: u64 = 12_000;' \
    -p pallet-quarks-messaging a_run_stops_posting_after_its_8_s_budget
  m shorter-run-budget fast pallets/messaging/src/relay_worker.rs \
    'const RUN_BUDGET_MS: u64 = 8_000;' 'const RUN_BUDGET_MS: u64 = 5_000;' \
    -p pallet-quarks-messaging a_run_stops_posting_after_its_8_s_budget
  m no-run-budget fast pallets/messaging/src/relay_worker.rs \
    'if started >= run_deadline {' 'if started >= run_deadline && false {' \
    -p pallet-quarks-messaging a_run_stops_posting_after_its_8_s_budget
  m larger-answers fast pallets/messaging/src/relay_worker.rs \
    'const MAX_ANSWER_BYTES: usize = 256 << 10;' 'const MAX_ANSWER_BYTES: usize = 512 << 10;' \
    -p pallet-quarks-messaging a_host_answer_past_256_kib_is_not_read
  m answer-cap-off-by-one fast pallets/messaging/src/relay_worker.rs \
    'if body.len() > MAX_ANSWER_BYTES {' 'if body.len() > MAX_ANSWER_BYTES + 1 {' \
    -p pallet-quarks-messaging a_host_answer_past_256_kib_is_not_read
  m longer-request-deadline fast pallets/messaging/src/relay_worker.rs \
    'const REQUEST_TIMEOUT_MS: u64 = 4_000;' 'const REQUEST_TIMEOUT_MS: u64 = 5_000;' \
    -p pallet-quarks-messaging a_host_answering_after_the_4_s_deadline
  m shorter-request-deadline fast pallets/messaging/src/relay_worker.rs \
    'const REQUEST_TIMEOUT_MS: u64 = 4_000;' 'const REQUEST_TIMEOUT_MS: u64 = 3_000;' \
    -p pallet-quarks-messaging a_host_answering_after_the_4_s_deadline
  m no-body-deadline fast pallets/messaging/src/relay_worker.rs \
    'body.deadline(deadline);' '' \
    -p pallet-quarks-messaging a_host_trickling_its_answer_past_the_4_s_deadline
  m more-attempts fast pallets/messaging/src/relay_worker.rs \
    'pub const MAX_ATTEMPTS: u32 = 12;' 'pub const MAX_ATTEMPTS: u32 = 13;' \
    -p pallet-quarks-messaging a_silent_host_is_given_up_after_the_last_attempt
  m longer-backoff fast pallets/messaging/src/relay_worker.rs \
    'const MAX_BACKOFF: u32 = 64;' 'const MAX_BACKOFF: u32 = 128;' \
    -p pallet-quarks-messaging a_silent_host_is_given_up_after_the_last_attempt
  m longer-push-deadline fast node/src/hosting/direct_push.rs \
    'const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);' 'const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);' \
    -p quarks-node --bin quarks-node a_silent_host_holds_its_lane_for_the_request_deadline_only
  m shorter-push-deadline fast node/src/hosting/direct_push.rs \
    'const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);' 'const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);' \
    -p quarks-node --bin quarks-node a_silent_host_holds_its_lane_for_the_request_deadline_only
  m no-sender-share fast node/src/hosting/host_store.rs \
    '(share.saturating_add(len) <= limits.sender_share, true)' '(share.saturating_add(len) <= limits.user_quota, true)' \
    -p quarks-node --bin quarks-node a_sender_keeps_at_most_its_share_of_a_recipients_quota
  m no-requeue fast node/src/hosting/relay_queue.rs \
    'let requeue = !queued.contains(&hash);' 'let requeue = false && !queued.contains(&hash);' \
    -p quarks-node --bin quarks-node many_submissions_are_accepted_in_one_write_each_once
  m commits-past-max fast pallets/groups/src/lib.rs \
    'kept_from.max(epoch.saturating_add(1).saturating_sub(T::MaxKeptCommits::get()))' 'kept_from' \
    -p pallet-quarks-groups records_are_kept_for_the_retention_and_at_most_max_kept
  m removed-record-dropped fast pallets/keys/src/lib.rs \
    'removed.saturating_add(T::KeptAfterEnd::get()) <= now' 'removed <= now' \
    -p pallet-quarks-keys a_removed_device_stays_provable_for_its_past_until_its_record_may_go
  m device-deposit-free fast pallets/keys/src/lib.rs \
    'None if adds => T::Consideration::new(who, footprint),' 'None if adds => return Ok(()),' \
    -p pallet-quarks-keys binding_a_device_holds_its_deposit_from_the_account
  m free-member-places fast pallets/groups/src/lib.rs \
    'let deposit = Self::hold(&admin, Self::member_footprint())?;' 'let deposit = Self::hold(&admin, Footprint::from_parts(0, 0))?;' \
    -p pallet-quarks-groups whoever_adds_a_member_pays_and_gets_it_back_when_the_member_goes
  m adder-not-repaid fast pallets/groups/src/lib.rs \
    'Some((payer, ticket)) => ticket.drop(&payer),' 'Some((payer, ticket)) => { ticket.burn(&payer); Ok(()) },' \
    -p pallet-quarks-groups whoever_adds_a_member_pays_and_gets_it_back_when_the_member_goes
  m removal-takes-more fast pallets/keys/src/lib.rs \
    'Ok(lower) if held::<BalanceOf<T>>(&lower) <= before => {' 'Ok(lower) => {' \
    -p pallet-quarks-keys a_removal_never_takes_more_than_was_held
  m migration-takes-twice fast pallets/keys/src/migrations.rs \
    'if Deposits::<T>::contains_key(&who) {' 'if false {' \
    -p pallet-quarks-keys devices_bound_before_deposits_pay_for_them_at_version_1
  m recovery-from-unfinalized fast pallets/validator-set/src/lib.rs \
    'T::AuthoritySet::force_finality_change(voters, after, from)' 'T::AuthoritySet::force_finality_change(voters, after, from.saturating_add(1))' \
    -p pallet-validator-set a_stalled_finality_is_recovered_by_forcing_the_current_set
  m trailing-bytes fast primitives/src/envelope.rs \
    'if !input.is_empty() {' 'if false && !input.is_empty() {' \
    -p quarks-primitives --test decoders
  m unrecorded-welcome fast client/src/mls/commits.rs \
    'if ordered.welcome != Some(welcome_hash(welcome)) {' 'if false && ordered.welcome != Some(welcome_hash(welcome)) {' \
    -p quarks-client --lib a_welcome_the_chain_did_not_record_moves_no_one
  m junk-commit-waits fast client/src/mls.rs \
    'pub fn is_permanent_for_commit(&self) -> bool {' 'pub fn is_permanent_for_commit(&self) -> bool { if true { return false; }' \
    -p quarks-client --lib a_group_whose_commit_does_not_apply_restarts
  m envelope-cap-off-by-one fast primitives/src/envelope.rs \
    'if bytes.len() > MAX_ENVELOPE_LEN {' 'if bytes.len() > MAX_ENVELOPE_LEN + 1 {' \
    -p quarks-primitives --lib bad_shapes_are_rejected_with_their_reason
  m batch-forged-signed fast node/src/hosting/submissions.rs \
    'let all_signed = checks.len() > 1 && batch_verifies(' 'let all_signed = checks.len() > 1 || batch_verifies(' \
    -p quarks-node --bin quarks-node a_batch_of_good_signatures_is_signed_and_a_bad_one_is_named
  m same-nonce-twice fast node/src/hosting/host_store.rs \
    'if nonce <= last {' 'if nonce < last {' \
    -p quarks-node --bin quarks-node a_persistent_store_keeps_mail_states_nonces_and_receptions
  m no-tombstones fast node/src/hosting/host_store.rs \
    '.filter(|who| index.tombstones.contains_key(&(*hash, (*who).clone())))' '.filter(|_| false)' \
    -p quarks-node --bin quarks-node delivered_or_deleted_mail_leaves_a_tombstone_until_its_retention_ends
  m second-anchor-in-block fast pallets/messaging/src/lib.rs \
    '!AnchorsAt::<T>::contains_key(now, &sender),' 'true,' \
    -p pallet-quarks-messaging bad_anchors_are_rejected_and_change_nothing
  m refusals-kept fast client/src/mls.rs \
    'if result.is_err() {' 'if false {' \
    -p quarks-client --lib refused_input_changes_nothing
  m no-self-update fast client/src/mls/commits.rs \
    '.force_self_update(true)' '.force_self_update(false)' \
    -p quarks-client --lib every_commit_replaces_the_committers_own_keys
  m roster-not-checked fast client/src/mls/commits.rs \
    '} else if roster_hash(&roster_of(&mls)?) != ordered.roster {' '} else if false && roster_hash(&roster_of(&mls)?) != ordered.roster {' \
    -p quarks-client --lib a_commit_or_welcome_whose_roster_is_not_the_chains_is_refused
  m no-key-commitment fast client/src/seal.rs \
    'if key_commitment(key) != *commitment {' 'if false && key_commitment(key) != *commitment {' \
    -p quarks-client --lib an_envelope_opens_only_under_the_key_it_commits_to
  m one-message-key fast client/src/seal.rs \
    'OsRng.fill_bytes(key.as_mut());' 'OsRng.fill_bytes(&mut [0u8; 32]); *key = [7; 32];' \
    -p quarks-client --lib an_envelope_opens_only_under_the_key_it_commits_to
  m fingerprint-no-devices fast client/src/contacts.rs \
    'let keys = devices.concat();' 'let keys = Vec::<u8>::new();' \
    -p quarks-client --lib both_sides_see_the_same_number_and_any_device_change_shows
  m invitation-any-devices fast client/src/invitation.rs \
    'if devices.is_empty() || seen != self.fingerprint {' 'if devices.is_empty() {' \
    -p quarks-client --lib an_invitation_holds_only_for_the_devices_and_hosts_it_names
  m unkeyed-peer-tag fast client/src/database.rs \
    'new_from_slice(&self.key[..])' 'new_from_slice(&[0u8; 32][..])' \
    -p quarks-client --lib the_file_keeps_no_account_or_text_in_the_clear_and_opens_only_with_its_key
  m device-proof-unchecked fast pallets/keys/src/lib.rs \
    'sp_io::crypto::ed25519_verify(' 'true || sp_io::crypto::ed25519_verify(' \
    -p pallet-quarks-keys no_account_binds_a_key_it_does_not_hold_or_that_is_taken
  m total-cap-off-by-one fast node/src/public_rpc.rs \
    'if *total >= self.total_cap {' 'if *total > self.total_cap {' \
    -p quarks-node --bin quarks-node the_total_cap_holds_whoever_connects
  m accept-twice fast node/src/hosting/relay_queue.rs \
    '.filter(|(hash, _)| listed.insert(*hash) && !self.contains(hash))' '.filter(|(hash, _)| listed.insert(*hash))' \
    -p quarks-node --bin quarks-node an_envelope_accepted_again_is_neither_journaled_nor_queued_twice
  m sixtofour-public fast primitives/src/endpoint.rs \
    'if segments[0] == 0x2002 {' 'if false && segments[0] == 0x2002 {' \
    -p quarks-primitives --lib private_addresses_are_not_public
  m invitation-any-hosts fast client/src/invitation.rs \
    'if hosts != self.hosts {' 'if false && hosts != self.hosts {' \
    -p quarks-client --lib an_invitation_holds_only_for_the_devices_and_hosts_it_names
  m redirects-followed fast client/src/chain.rs \
    '.max_redirections(1)' '.max_redirections(5)' \
    -p quarks-client --lib a_redirect_is_not_followed
  m any-device-delivers fast node/src/hosting/host_store.rs \
    '.all(|r| self.devices.contains(&r.key))' '.any(|r| self.devices.contains(&r.key))' \
    -p quarks-node --bin quarks-node mail_is_delivered_once_every_device_bound_at_its_anchor
  m removed-still-counts fast node/src/hosting/host_store.rs \
    '.filter(|r| r.is_bound_at(&now) && r.added <= anchored)' '.filter(|r| r.added <= anchored)' \
    -p quarks-node --bin quarks-node mail_is_delivered_once_every_device_bound_at_its_anchor
  m later-devices-count fast node/src/hosting/host_store.rs \
    '.filter(|r| r.is_bound_at(&now) && r.added <= anchored)' '.filter(|r| r.is_bound_at(&now))' \
    -p quarks-node --bin quarks-node mail_is_delivered_once_every_device_bound_at_its_anchor
  m unfinal-delivered fast node/src/hosting/host_store.rs \
    'State::Anchored { block, is_final: true, .. } => Some(block),' 'State::Anchored { block, .. } => Some(block),' \
    -p quarks-node --bin quarks-node receptions_count_only_mail_kept_for_the_device_owner
  m fetch-for-everything fast node/src/hosting/host_store.rs \
    'without.is_some_and(|device| devices.is_some_and(|d| d.contains(device)))' 'false && without.is_some_and(|device| devices.is_some_and(|d| d.contains(device)))' \
    -p quarks-node --bin quarks-node a_mailbox_pages_by_count_and_bytes
  m worker-ignores-checks fast pallets/messaging/src/relay_worker.rs \
    'if allowed != Some(true) {' 'if false {' \
    -p pallet-quarks-messaging a_host_whose_name_resolves_to_a_private_address_gets_no_request
  m unchecked-counts fast pallets/messaging/src/relay_worker.rs \
    'DeliveryState::Pending { attempts, next_attempt' 'DeliveryState::Pending { attempts: tried, next_attempt' \
    -p pallet-quarks-messaging a_host_the_node_has_not_checked_waits_without_losing_attempts
  m names-not-resolved fast node/src/hosting/endpoints.rs \
    'addresses.into_iter().all(is_public_ip)' 'true' \
    -p quarks-node --bin quarks-node a_name_that_resolves_to_loopback_is_not_public
  m no-journal slow node/src/hosting/relay_queue.rs \
    'self.journal(writes)?;' 'let _: Vec<JournalWrite> = writes;' \
    -p quarks-node --test hosting accepted_mail_survives_sigkill_of_hosts_senders_and_validators
  m non-member-admitted slow node/src/hosting/chain_view.rs \
    'if !members.contains(sender) {' 'if false && !members.contains(sender) {' \
    -p quarks-node --test hosting insiders_cannot_misplace_or_stall_mail
  m any-host-serves slow node/src/hosting/host.rs \
    'if request.host != self.operator {' 'if false {' \
    -p quarks-node --test hosting envelopes_reach_every_chosen_host_at_once_and_are_notarized_after
  m membership-signature-unchecked slow node/src/hosting/host.rs \
    'let signature = signed.signature.ok_or(QuarksError::BadSignature)?;' 'let signature = signed.signature.ok_or(QuarksError::BadSignature)?; if true { return Ok(()); }' \
    -p quarks-node --test hosting insiders_cannot_misplace_or_stall_mail
  m tombstones-unchecked slow node/src/hosting/host.rs \
    'recipients.retain(|recipient| !buried.contains(recipient));' 'recipients.retain(|_| true); drop(buried);' \
    -p quarks-node --test hosting insiders_cannot_misplace_or_stall_mail
  m write-per-item slow node/src/hosting/host.rs \
    'batch.set_state(*hash, state);' 'self.store.set_states(vec![(*hash, state)])?; let _ = batch;' \
    -p quarks-node --test hosting insiders_cannot_misplace_or_stall_mail
  m pages-need-not-advance slow client/src/hosts.rs \
    'Some(next) if after.is_some_and(|after| next <= after) => {' 'Some(next) if false && after.is_some_and(|after| next <= after) => {' \
    -p quarks-node --test client a_hostile_host_cannot_hang_or_exhaust_a_client
  m no-fetch-deadline slow client/src/inbox/mailboxes.rs \
    'const FETCH_TIMEOUT: Duration = Duration::from_secs(10);' 'const FETCH_TIMEOUT: Duration = Duration::from_secs(3600);' \
    -p quarks-node --test client a_hostile_host_cannot_hang_or_exhaust_a_client
  m no-pending-commit slow client/src/send.rs \
    'if !self.ensure_current(group).await?.committed {' 'if !self.ensure_current(group).await?.committed && false {' \
    -p quarks-node --test insiders a_member_cannot_stall_a_group
  m packages-unchecked slow client/src/conversations.rs \
    '.filter(|r| self.device(|d| d.usable_key_package(&r.package, member, &device)))' '.filter(|_| true)' \
    -p quarks-node --test insiders a_member_cannot_stall_a_group
  m justification-unchecked slow client/src/chain/finality.rs \
    'bounded(&justification, set)?;' 'bounded(&justification, set)?; if true { return Ok(justified); }' \
    -p quarks-node --test trust a_lying_node_is_refused_and_an_honest_one_proves_the_same
  m client-connects-anywhere slow client/src/messenger.rs \
    'if public_only {' 'if false && public_only {' \
    -p quarks-node --test insiders a_host_named_for_a_private_address_gets_no_connection
  m push-ignores-checks slow node/src/hosting/direct_push.rs \
    'if !self.queue.may_connect(&self.endpoint) {' 'if false {' \
    -p quarks-node --test insiders a_host_named_for_a_private_address_gets_no_connection
  m no-bidding slow client/src/chain/transactions.rs \
    'const BIDDING: Bidding = Bidding { first: 2, then: 1, raises: 5 };' 'const BIDDING: Bidding = Bidding { first: 2, then: 1, raises: 0 };' \
    -p quarks-node --test insiders sybils_filling_every_anchor_slot_do_not_stop_honest_mail
  m claims-crowded-out slow client/src/inbox/follow.rs \
    'match self.claims.iter_mut().find(|(host, _)| *host == source) {' 'match None::<&mut (Source, BatchMembership)> { _ if self.claims.len() >= 4 => {}' \
    -p quarks-node --test client a_lying_host_cannot_hide_what_an_honest_host_holds
  m no-submission-check slow client/src/inbox/open.rs \
    'if !self.signed_by_sender(entry, &envelope.sender, &hash) {' 'if false && !self.signed_by_sender(entry, &envelope.sender, &hash) {' \
    -p quarks-node --test client a_lying_host_cannot_hide_what_an_honest_host_holds
  m no-commit-retry slow client/src/conversations.rs \
    'failures::WRONG_EPOCH,' '' \
    -p quarks-node --test client chat_end_to_end
  m device-not-checked slow client/src/inbox/notarization.rs \
    'if !self.device_bound_at(sender, &opened.device, block).await? {' 'if false && !self.device_bound_at(sender, &opened.device, block).await? {' \
    -p quarks-node --test client chat_end_to_end
  m unanchored-kept slow client/src/inbox/open.rs \
    'Ok(Received {' 'self.store.put(bytes)?; Ok(Received {' \
    -p quarks-node --test client chat_end_to_end
  m not-forgotten slow client/src/inbox/follow.rs \
    'let _ = self.store.forget(&t.received.hash);' '' \
    -p quarks-node --test client chat_end_to_end
  m public-unsafe slow node/src/public_rpc.rs \
    'request.extensions_mut().insert(DenyUnsafe::Yes);' 'request.extensions_mut().insert(DenyUnsafe::No);' \
    -p quarks-node --test rpc the_public_endpoint_limits_each_caller_address
  m only-state-gated slow node/src/network.rs \
    'if allow_list.admits(&request.peer) {' 'if allow_list.admits(&request.peer) || !protocol.ends_with("state/2") {' \
    -p quarks-node --test network only_allow_listed_peers_are_served
  m more-host-items slow primitives/src/hosting.rs \
    'pub const MAX_HOST_ITEMS: usize = 4096;' 'pub const MAX_HOST_ITEMS: usize = 4097;' \
    -p quarks-node --test hosting insiders_cannot_misplace_or_stall_mail
}

fast_only=0 list=0 wanted=()
for arg in "$@"; do
  case "$arg" in
    --fast) fast_only=1 ;;
    --list) list=1 ;;
    *) wanted+=("$arg") ;;
  esac
done

chosen() { # chosen NAME SPEED: whether this run takes the mutation
  [ "$fast_only" = 1 ] && [ "$2" != fast ] && return 1
  [ "${#wanted[@]}" -eq 0 ] && return 0
  local w
  for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

if [ "$list" = 1 ]; then
  m() { printf '%-22s %-5s %s\n' "$1" "$2" "$3"; }
  mutations
  exit 0
fi

quarks_setup
export SKIP_WASM_BUILD=1

echo "[mutants] building the tests unmutated"
cargo test --workspace --no-run -q

# Every file a mutation touches must be as committed, so putting it back loses nothing.
m() { git diff --quiet -- "$3" || { echo "[mutants] $3 has uncommitted changes" >&2; exit 1; }; }
mutations

backup="$(mktemp -d -t quarks-mutants.XXXXXX)"
logs="$CARGO_TARGET_DIR/mutants"
mkdir -p "$logs"
restore() {
  if [ -n "${mutated:-}" ]; then cp "$backup/file" "$mutated"; fi
  rm -rf "$backup"
}
trap restore EXIT

results=()
missed=0
m() { # m NAME SPEED FILE TEXT REPLACEMENT CARGO-ARGS...
  local name="$1" speed="$2" file="$3" text="$4" replacement="$5"
  shift 5
  chosen "$name" "$speed" || return 0
  if [ "$(grep -cF -- "$text" "$file")" != 1 ]; then
    echo "[mutants] $name: the text to mutate is not in $file exactly once" >&2
    exit 1
  fi
  cp "$file" "$backup/file"
  mutated="$file"
  TEXT="$text" REPLACEMENT="$replacement" perl -0pi -e 's/\Q$ENV{TEXT}\E/$ENV{REPLACEMENT}/' "$file"
  echo "[mutants] $name: $file mutated; cargo test $*"
  local outcome log="$logs/$name.log"
  if cargo test "$@" >"$log" 2>&1; then
    outcome="MISSED (the test passed)"
    missed=$((missed + 1))
  elif grep -q "^test result: FAILED" "$log"; then
    outcome="caught: $(grep -m1 -o "panicked at .*" "$log" || echo "the test failed")"
  else
    outcome="BROKEN (no test ran: $log)"
    missed=$((missed + 1))
  fi
  cp "$backup/file" "$file"
  mutated=""
  results+=("$(printf '%-22s %s' "$name" "$outcome")")
}
mutations

echo "[mutants] results"
printf '  %s\n' "${results[@]}"
exit "$((missed > 0))"
