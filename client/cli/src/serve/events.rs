//! The event stream: each of the engine's events as one JSON text frame to every open
//! WebSocket. A client that falls behind by more than [`BACKLOG`] events is told to read
//! the database again (`{"type":"changed"}`), never left silently behind.

use super::Served;
use crate::json::message_json;
use axum::{
	extract::{
		ws::{Message, WebSocket, WebSocketUpgrade},
		State,
	},
	response::Response,
};
use quarks_client::engine::Event;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Where the stream is opened.
pub const PATH: &str = "/api/events";
/// Events kept for a slow reader.
const BACKLOG: usize = 1024;

/// Forwards the engine's events, as JSON, to every open stream.
pub fn start(mut told: mpsc::UnboundedReceiver<Event>) -> broadcast::Sender<Arc<String>> {
	let (events, _) = broadcast::channel(BACKLOG);
	let sender = events.clone();
	tokio::spawn(async move {
		while let Some(event) = told.recv().await {
			// No one listening is no error.
			let _ = sender.send(Arc::new(event_json(&event).to_string()));
		}
	});
	events
}

fn event_json(event: &Event) -> serde_json::Value {
	match event {
		Event::Arrived(message) => json!({ "type": "message", "message": message_json(message) }),
		Event::Dropped(hash) => json!({ "type": "dropped", "hash": format!("{hash:?}") }),
		Event::Changed => json!({ "type": "changed" }),
		Event::Notice(text) => json!({ "type": "notice", "text": text }),
	}
}

/// `GET /api/events`: upgrades to a WebSocket that carries the events.
pub async fn open(State(served): State<Arc<Served>>, upgrade: WebSocketUpgrade) -> Response {
	let events = served.events.subscribe();
	// The client has nothing to say on this stream but its close.
	upgrade.max_message_size(4096).on_upgrade(move |socket| stream(socket, events))
}

async fn stream(mut socket: WebSocket, mut events: broadcast::Receiver<Arc<String>>) {
	let changed = json!({ "type": "changed" }).to_string();
	loop {
		let text = tokio::select! {
			event = events.recv() => match event {
				Ok(text) => text.as_str().to_owned(),
				Err(broadcast::error::RecvError::Lagged(_)) => changed.clone(),
				Err(broadcast::error::RecvError::Closed) => return,
			},
			// The client's frames are not read, only its close.
			incoming = socket.recv() => match incoming {
				Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
				Some(Ok(_)) => continue,
			},
		};
		if socket.send(Message::Text(text.into())).await.is_err() {
			return;
		}
	}
}
