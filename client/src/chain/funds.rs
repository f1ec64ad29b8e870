//! Balances as a user meets them: what an account holds, what a transaction costs, and
//! why the pool refused one (an account without funds is told so, and what to do).

use super::{
	proven::storage_key,
	rpc_error,
	vocabulary::{self, Call},
	AccountSigner, At, Chain, ChainError,
};
use codec::Decode;
use sp_core::{crypto::AccountId32, sr25519, Pair as _};
use std::{fmt, str::FromStr};
use subxt::{config::substrate::SubstrateExtrinsicParamsBuilder, dynamic::Value, SubstrateConfig};

/// Plancks per QRK (the chain's `tokenDecimals`, 12).
const PLANCKS: u128 = 1_000_000_000_000;

/// An amount of the chain's token, in plancks; shown and parsed in QRK.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Qrk(pub u128);

impl fmt::Display for Qrk {
	fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
		let (whole, fraction) = (self.0 / PLANCKS, self.0 % PLANCKS);
		if fraction == 0 {
			return write!(f, "{whole} QRK");
		}
		let digits = format!("{fraction:012}");
		write!(f, "{whole}.{} QRK", digits.trim_end_matches('0'))
	}
}

/// Why an amount does not parse.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an amount of QRK (a number such as 1 or 0.25, at most 12 decimals)")]
pub struct NotAnAmount(String);

impl FromStr for Qrk {
	type Err = NotAnAmount;

	fn from_str(text: &str) -> Result<Self, NotAnAmount> {
		let wrong = || NotAnAmount(text.to_owned());
		let number = text.trim().trim_end_matches("QRK").trim();
		let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
		let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
		if !digits(whole) || !(fraction.is_empty() || digits(fraction)) || fraction.len() > 12 {
			return Err(wrong());
		}
		let whole: u128 = whole.parse().map_err(|_| wrong())?;
		let fraction: u128 = format!("{fraction:0<12}").parse().map_err(|_| wrong())?;
		whole.checked_mul(PLANCKS).and_then(|w| w.checked_add(fraction)).map(Qrk).ok_or_else(wrong)
	}
}

/// The start of `frame_system::AccountInfo`: counters, then the balances' free and
/// reserved amounts (holds count as reserved).
#[derive(Decode)]
struct AccountStart {
	_nonce: u32,
	_consumers: u32,
	_providers: u32,
	_sufficients: u32,
	free: u128,
	reserved: u128,
}

/// What an account holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holdings {
	/// What it may spend.
	pub free: Qrk,
	/// What deposits hold for its state on chain, returned as the state goes.
	pub held: Qrk,
}

impl Chain {
	/// What `account` holds, proven at the latest final block.
	pub async fn holdings(&self, account: &AccountId32) -> Result<Holdings, ChainError> {
		let key = storage_key(&vocabulary::ACCOUNTS, &[account.as_ref()]);
		let Some(Some(bytes)) = self.proven_read(&self.proven_latest().await?, &[key]).await?.pop()
		else {
			return Ok(Holdings { free: Qrk(0), held: Qrk(0) });
		};
		let start = AccountStart::decode(&mut &bytes[..])
			.map_err(|e| ChainError::Decode(format!("an account's balance: {e}")))?;
		Ok(Holdings { free: Qrk(start.free), held: Qrk(start.reserved) })
	}

	/// What `account` may spend (its free balance), proven at the latest final block.
	pub async fn free_balance(&self, account: &AccountId32) -> Result<Qrk, ChainError> {
		Ok(self.holdings(account).await?.free)
	}

	/// The least an account must keep to exist (`Balances::ExistentialDeposit`).
	pub async fn existential_deposit(&self) -> Result<Qrk, ChainError> {
		let at = self.at(At::Finalized).await?;
		let vocabulary::Constant(pallet, name) = vocabulary::EXISTENTIAL_DEPOSIT;
		let address = subxt::dynamic::constant::<u128>(pallet, name);
		at.constants().entry(address).map(Qrk).map_err(rpc_error)
	}

	/// What `signer` would pay for `call(fields)` (its fee, at today's multiplier).
	pub async fn fee(
		&self,
		signer: &sr25519::Pair,
		call: Call,
		fields: Vec<Value>,
	) -> Result<Qrk, ChainError> {
		let payload = subxt::dynamic::transaction(call.0, call.1, fields);
		let at = self.at(At::Finalized).await?;
		let params = SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new().build();
		let signed = at
			.transactions()
			.create_signed(&payload, &AccountSigner(signer), params)
			.await
			.map_err(rpc_error)?;
		signed.partial_fee_estimate().await.map(Qrk).map_err(rpc_error)
	}

	/// Why the pool refused `signer`'s `call(fields)` with `message`: no funds for its fee
	/// (and what to do), or the pool's own words.
	pub(super) async fn refusal(
		&self,
		signer: &sr25519::Pair,
		call: Call,
		fields: Vec<Value>,
		message: String,
	) -> ChainError {
		let account = AccountId32::from(signer.public());
		let costs = async {
			let free = self.free_balance(&account).await?;
			let needed =
				self.fee(signer, call, fields).await?.0 + self.existential_deposit().await?.0;
			Ok::<_, ChainError>((free, Qrk(needed)))
		};
		match costs.await {
			Ok((free, needed)) if free < needed => {
				ChainError::NoFunds { account: account.to_string(), free, needed }
			}
			_ => ChainError::Refused(message),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_read_and_print_in_qrk() {
		assert_eq!("1".parse(), Ok(Qrk(PLANCKS)));
		assert_eq!("0.25 QRK".parse(), Ok(Qrk(PLANCKS / 4)));
		assert_eq!("0.000000000001".parse(), Ok(Qrk(1)));
		for wrong in ["", "-1", ".5", "1.0000000000001", "1e3", "one", "1,5"] {
			assert!(wrong.parse::<Qrk>().is_err(), "{wrong:?}");
		}
		assert_eq!(Qrk(PLANCKS * 3).to_string(), "3 QRK");
		assert_eq!(Qrk(300_000_000).to_string(), "0.0003 QRK");
		assert_eq!(Qrk(PLANCKS + 1).to_string(), "1.000000000001 QRK");
	}
}
