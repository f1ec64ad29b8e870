//! Groups: `group create|add|remove|leave|sync|show`.

use crate::{args::*, input::*, output::*};
use quarks_client::queries;

pub async fn group(cli: &Cli, command: &GroupCommand) -> Fallible<()> {
	let m = messenger(cli).await?;
	match command {
		GroupCommand::Create { members } => {
			let members = members.iter().map(|a| m.resolve(a)).collect::<Result<Vec<_>, _>>()?;
			let steps = Steps::new("creating the group and adding its members' devices");
			let group = m.create_group(&members, &mut steps.reporter()).await?;
			steps.done();
			println!("created group {group} with {} member(s) besides you", members.len());
		}
		GroupCommand::Add { group, member } | GroupCommand::Remove { group, member } => {
			let who = m.resolve(member)?;
			let adding = matches!(command, GroupCommand::Add { .. });
			let steps =
				Steps::new(if adding { "adding the member" } else { "removing the member" });
			let epoch = if adding {
				m.add_member(*group, &who, &mut steps.reporter()).await?
			} else {
				m.remove_member(*group, &who, &mut steps.reporter()).await?
			};
			steps.done();
			let verb = if adding { "added" } else { "removed" };
			println!("{verb} {} in group {group}; its commit opened epoch {epoch}", address(&who));
		}
		GroupCommand::Leave { group } => {
			let steps = Steps::new("leaving the group");
			m.leave_group(*group, &mut steps.reporter()).await?;
			steps.done();
			println!("left group {group}");
		}
		GroupCommand::Sync => {
			let steps = Steps::new("bringing your groups in line with the chain");
			let outcomes = m.sync_groups(false, &mut steps.reporter()).await;
			steps.done();
			for (group, outcome) in outcomes {
				match outcome {
					Ok(Some(epoch)) => println!("group {group}: committed epoch {epoch}"),
					Ok(None) => println!("group {group}: in line with the chain"),
					Err(e) => println!("group {group}: {e}"),
				}
			}
		}
		GroupCommand::Show { group } => {
			let info = queries::group_info(&m.chain, *group)
				.await?
				.ok_or_else(|| format!("group {group} does not exist"))?;
			let state = if info.committed { "committed" } else { "awaiting its commit" };
			println!("group {group}: epoch {} ({state}), {} members", info.epoch, info.members);
			for member in queries::group_members(&m.chain, *group).await? {
				println!("  {}", address(&member));
			}
			match m.group_devices(*group) {
				Ok((epoch, devices)) => {
					println!("this device is at epoch {epoch}; the group's devices:");
					for d in devices {
						println!("  {} of {}", device(&d.signature_key), address(&d.account));
					}
				}
				Err(e) => println!("this device: {e}"),
			}
		}
	}
	Ok(())
}
