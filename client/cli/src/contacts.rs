//! Names for accounts and invitations: `contact`, `invite`.

use crate::{args::*, input::*, json::contact_json, output::*};
use qrcode::{render::unicode::Dense1x2, QrCode};
use quarks_client::invitation::{Invitation, SCHEME};

pub async fn contact(cli: &Cli, command: &ContactCommand) -> Fallible<()> {
	let m = messenger(cli).await?;
	match command {
		ContactCommand::Add { name, who } => {
			let contact = if who.trim().starts_with(SCHEME) {
				m.accept_invitation(name, &who.parse::<Invitation>()?).await?
			} else {
				m.name_contact(name, &m.resolve(who)?)?
			};
			let verified = if contact.verified.is_some() { ", verified" } else { "" };
			println!("{} is {}{verified}", contact.name, address(&contact.account));
		}
		ContactCommand::List { json } => {
			let mut rows = Vec::new();
			for contact in m.database.contacts()? {
				let still = m.still_verified(&contact).await?;
				let blocked = m.database.is_blocked(&contact.account)?;
				rows.push(contact_json(&contact, still, blocked));
			}
			if *json {
				println!("{}", serde_json::to_string_pretty(&rows)?);
			} else if rows.is_empty() {
				println!("no contacts yet: `quarks contact add <name> <their invitation>`");
			}
			for row in rows.iter().filter(|_| !json) {
				let field = |key: &str| row[key].as_str().unwrap_or_default().to_owned();
				let blocked = if row["blocked"] == true { "  blocked" } else { "" };
				println!("{}  {}  {}{blocked}", field("name"), field("account"), field("status"));
			}
		}
		ContactCommand::Remove { name } => {
			if !m.database.remove_contact(name)? {
				return Err(format!("no contact named {name:?}").into());
			}
			println!("forgot {name}");
		}
		ContactCommand::Block { who } => {
			let account = m.resolve(who)?;
			let steps = Steps::new("blocking");
			let left = m.block(&account, &mut steps.reporter()).await?;
			steps.done();
			println!(
				"blocked {}; left {} conversation(s) they started",
				m.display_name(&account),
				left.len()
			);
		}
		ContactCommand::Unblock { who } => {
			let account = m.resolve(who)?;
			if !m.database.unblock(&account)? {
				return Err(format!("{} was not blocked", m.display_name(&account)).into());
			}
			println!("unblocked {}", m.display_name(&account));
		}
		ContactCommand::Verify { account, matches } => {
			let peer = m.resolve(account)?;
			let contact = m.contact(&peer).await?;
			println!("safety number of you and {}:", m.display_name(&peer));
			for line in contact.safety_number.as_bytes().chunks(30) {
				let groups: Vec<&str> =
					line.chunks(5).map(|g| std::str::from_utf8(g).unwrap_or("?")).collect();
				println!("  {}", groups.join(" "));
			}
			println!("their devices on chain:");
			for key in &contact.devices {
				println!("  {}", device(key));
			}
			match contact.conversation_matches {
				Some(true) => println!("your conversation with them holds exactly these devices"),
				Some(false) => println!(
					"WARNING: your conversation with them holds other devices than the chain binds to them (a commit may be on its way; run `quarks group sync`)"
				),
				None => println!("you have no conversation with them yet"),
			}
			if *matches {
				let named = m.mark_verified(&peer, &contact.devices)?;
				println!("{} is verified", named.name);
			}
		}
	}
	Ok(())
}

/// Prints this account's invitation link and, unless only the link is asked for, its QR
/// code.
pub async fn invite(cli: &Cli, link_only: bool) -> Fallible<()> {
	let m = messenger(cli).await?;
	let link = m.invitation().await?.to_string();
	if link_only {
		println!("{link}");
		return Ok(());
	}
	println!("your invitation (they add you with `quarks contact add <your name> <link>`):");
	println!("{link}");
	let code = QrCode::new(link.as_bytes())?;
	println!(
		"{}",
		code.render::<Dense1x2>()
			.dark_color(Dense1x2::Light)
			.light_color(Dense1x2::Dark)
			.quiet_zone(true)
			.build()
	);
	Ok(())
}
