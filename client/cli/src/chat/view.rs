//! Drawing the chat: conversations on the left, the selected one's messages on the right,
//! the compose line and a status line below. Fits an 80×24 terminal.

use super::{commands::Target, App};
use quarks_client::database::{Message, MessageState};
use ratatui::{
	layout::{Constraint, Layout, Rect},
	style::{Color, Modifier, Style, Stylize},
	text::{Line, Span},
	widgets::{Block, List, ListItem, ListState, Paragraph, Wrap},
	Frame,
};
use sp_core::crypto::{AccountId32, Ss58Codec};

/// `text` safe to draw: control characters (an escape sequence in a letter, a node's
/// error) shown as U+FFFD, so no sender can move the cursor or write to the terminal.
pub fn clean(text: &str) -> String {
	text.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

/// An account in a few characters: the start and end of its address.
pub fn short(account: &AccountId32) -> String {
	let address = account.to_ss58check();
	let chars: Vec<char> = address.chars().collect();
	let (head, tail) = (&chars[..4.min(chars.len())], &chars[chars.len().saturating_sub(4)..]);
	format!("{}…{}", head.iter().collect::<String>(), tail.iter().collect::<String>())
}

pub fn draw(frame: &mut Frame, app: &App) {
	let [top, compose, status] =
		Layout::vertical([Constraint::Min(3), Constraint::Length(3), Constraint::Length(1)])
			.areas(frame.area());
	let [list, pane] = Layout::horizontal([Constraint::Length(22), Constraint::Min(20)]).areas(top);
	match &app.info {
		// Over the whole width: a link or a safety number reads in one piece.
		Some((title, lines)) => {
			let text: Vec<Line> = lines.iter().map(|l| Line::from(clean(l))).collect();
			let block = Block::bordered().title(format!(" {title} (Esc closes) "));
			frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: false }), top)
		}
		None => {
			conversations(frame, app, list);
			messages(frame, app, pane)
		}
	}
	let to = match &app.target {
		Some(target) => format!(" to {} ", title(app, target)),
		None => " /to <name> opens a conversation ".into(),
	};
	// A line longer than the box shows its end, where the cursor is.
	let room = usize::from(compose.width.saturating_sub(5));
	let typed = app.input.chars().count();
	let tail: String = app.input.chars().skip(typed.saturating_sub(room)).collect();
	let cursor = u16::try_from(tail.chars().count()).unwrap_or(u16::MAX).saturating_add(3);
	let line = Paragraph::new(format!("> {tail}")).block(Block::bordered().title(to));
	frame.render_widget(line, compose);
	frame.set_cursor_position((compose.x.saturating_add(cursor), compose.y.saturating_add(1)));
	frame.render_widget(Paragraph::new(clean(&app.status)).dim(), status);
}

/// What a conversation is called: its peer's name, or the group's number.
fn title(app: &App, target: &Target) -> String {
	match target {
		Target::Person(peer) => format!("{} (new)", app.name(peer)),
		Target::Group(group) => match app.conversations.iter().find(|c| c.group == *group) {
			Some(c) => c.peer.as_ref().map_or_else(|| format!("group {group}"), |p| app.name(p)),
			None => format!("group {group}"),
		},
	}
}

fn conversations(frame: &mut Frame, app: &App, area: Rect) {
	let selected = app.group();
	let mut state = ListState::default();
	let items: Vec<ListItem> = app
		.conversations
		.iter()
		.enumerate()
		.map(|(i, c)| {
			if Some(c.group) == selected {
				state.select(Some(i));
			}
			let arrived = app.arrived.iter().filter(|m| m.group == c.group && !m.outgoing);
			let arrived = if Some(c.group) == selected { 0 } else { arrived.count() };
			let unread = (c.unread as usize).saturating_add(arrived);
			let name = title(app, &Target::Group(c.group));
			let mut spans = vec![Span::raw(name)];
			if c.request.is_some() {
				spans.push(Span::styled(" (request)", Style::new().fg(Color::Magenta)));
			}
			if unread > 0 {
				spans.push(Span::styled(
					format!(" ({unread})"),
					Style::new().bold().fg(Color::Cyan),
				));
			}
			ListItem::new(Line::from(spans))
		})
		.collect();
	let list = List::new(items)
		.block(Block::bordered().title(" chats "))
		.highlight_style(Style::new().add_modifier(Modifier::REVERSED))
		.highlight_symbol(">");
	frame.render_stateful_widget(list, area, &mut state);
}

fn messages(frame: &mut Frame, app: &App, area: Rect) {
	let Some(target) = &app.target else {
		let hint =
			Paragraph::new("No conversation yet. /to <name> opens one; /help lists commands.")
				.block(Block::bordered())
				.wrap(Wrap { trim: false });
		frame.render_widget(hint, area);
		return;
	};
	let mut title = format!(" {} ", self::title(app, target));
	let shown = app.conversations.iter().find(|c| Some(c.group) == app.group());
	if let Some(from) = shown.and_then(|c| c.request.as_ref()) {
		title = format!(" a request from {}: /accept or /block ", app.name(from));
	}
	if let Some(peer) = app.peer() {
		title += match (app.names.contains_key(&peer), app.verified.get(&peer)) {
			(true, Some(true)) => "· verified ",
			(true, Some(false)) => "· NOT verified ",
			_ => "",
		};
	}
	let width = area.width.saturating_sub(2).max(1) as usize;
	let height = area.height.saturating_sub(2) as usize;
	let mut shown: Vec<&Message> = app
		.messages
		.iter()
		.chain(app.arrived.iter().filter(|m| Some(m.group) == app.group()))
		.collect();
	shown.sort_by_key(|m| m.at);
	let lines: Vec<Line> = shown.iter().flat_map(|m| message(app, m, width)).collect();
	let end = lines.len().saturating_sub(app.scroll.min(lines.len().saturating_sub(height)));
	let start = end.saturating_sub(height);
	let visible: Vec<Line> = lines[start..end].to_vec();
	frame.render_widget(Paragraph::new(visible).block(Block::bordered().title(title)), area);
}

/// A message as lines `width` wide: time, sender, text, and its state at the end.
fn message<'a>(app: &App, m: &'a Message, width: usize) -> Vec<Line<'a>> {
	let time =
		i64::try_from(m.at).ok().and_then(chrono::DateTime::from_timestamp_millis).map_or_else(
			|| "--:--".into(),
			|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string(),
		);
	let (from, color) = if m.outgoing {
		("you".to_owned(), Color::Green)
	} else {
		(app.name(&m.sender), Color::Cyan)
	};
	let (mut tick, tick_style) = tick(&m.state);
	// What the chain proves (receipts), then what the readers said (read receipts).
	if m.outgoing && m.read_by > 0 {
		tick += &match app.peer() {
			Some(_) => " · read".to_owned(),
			None => format!(" · read by {}", m.read_by),
		};
	} else if m.outgoing && m.delivered_to > 0 {
		tick += &match app.peer() {
			Some(_) => " · delivered".to_owned(),
			None => format!(" · delivered to {}", m.delivered_to),
		};
	}
	let head = format!("{time} {from}: ");
	// The text wraps at the pane's width (by characters); the state follows its end.
	let tick = clean(&tick);
	let text: Vec<char> = format!("{}  {tick}", clean(&m.text)).chars().collect();
	let tick_len = tick.chars().count();
	let mut out = Vec::new();
	let first = width.saturating_sub(head.chars().count()).max(1);
	let mut at = 0;
	while at < text.len() || out.is_empty() {
		let room = if out.is_empty() { first } else { width };
		let end = at.saturating_add(room).min(text.len());
		let chunk: String = text[at..end].iter().collect();
		let mut spans = Vec::new();
		if out.is_empty() {
			spans.push(Span::raw(format!("{time} ")).dim());
			spans.push(Span::styled(format!("{from}: "), Style::new().fg(color).bold()));
		}
		// The state's characters end the text: styled apart.
		let body_end = text.len().saturating_sub(tick_len);
		if end > body_end && at < end {
			let split = body_end.max(at).saturating_sub(at);
			let (body, state): (String, String) =
				(chunk.chars().take(split).collect(), chunk.chars().skip(split).collect());
			spans.push(Span::raw(body));
			spans.push(Span::styled(state, tick_style));
		} else {
			spans.push(Span::raw(chunk));
		}
		out.push(Line::from(spans));
		at = end;
	}
	out
}

/// A state as the chat shows it.
fn tick(state: &MessageState) -> (String, Style) {
	match state {
		MessageState::Sending => ("… sending".into(), Style::new().fg(Color::Yellow)),
		MessageState::Pending => ("✓ pending".into(), Style::new().fg(Color::Yellow)),
		MessageState::Anchored(block) => {
			(format!("✓ anchored #{block}"), Style::new().fg(Color::Blue))
		}
		MessageState::Final(block) => (format!("✓✓ final #{block}"), Style::new().fg(Color::Green)),
		MessageState::NotNotarized => ("✗ not notarized".into(), Style::new().fg(Color::Red)),
		// Retried while the chat runs (for a day): not given up on.
		MessageState::Failed(reason) => {
			(format!("… retrying: {reason}"), Style::new().fg(Color::Yellow))
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_letter_cannot_write_escape_sequences_to_the_terminal() {
		// Clear the screen, write the clipboard (OSC 52), ring the bell, return the cursor.
		let hostile = "hi\x1b[2J\x1b]52;c;aGVsbG8=\x07\rfake ✓✓ final";
		let drawn = clean(hostile);
		assert!(!drawn.chars().any(char::is_control), "{drawn:?}");
		assert_eq!(drawn.chars().count(), hostile.chars().count(), "each shown as one mark");
		assert_eq!(clean("plain ✓ text, émoji 👋"), "plain ✓ text, émoji 👋");
	}
}
