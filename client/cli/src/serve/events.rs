//! The event stream: each of the engine's events as one JSON text frame to every open
//! WebSocket. A client that falls behind by more than [`BACKLOG`] events is told to read
//! the database again (`{"type":"changed"}`), never left silently behind.
//!
//! At most [`MAX_STREAMS`] are open at once, and a peer that stops answering pings (gone
//! without a close: a laptop that slept, a dropped network) loses its stream, so streams
//! opened and forgotten cannot hold tasks and backlogs for good.

use super::{Refusal, Served};
use crate::json::message_json;
use axum::{
	extract::{
		ws::{Message, WebSocket, WebSocketUpgrade},
		State,
	},
	http::StatusCode,
	response::{IntoResponse, Response},
};
use quarks_client::engine::Event;
use serde_json::json;
use std::{sync::Arc, time::Duration};
use tokio::{
	sync::{broadcast, broadcast::error::RecvError, mpsc, OwnedSemaphorePermit, Semaphore},
	time::Instant,
};

/// Where the stream is opened.
pub const PATH: &str = "/api/events";
/// Events kept for a slow reader.
const BACKLOG: usize = 1024;
/// Streams open at once; one more is refused with 503.
pub const MAX_STREAMS: usize = 16;
/// How often a stream pings its peer.
const PING_EVERY: Duration = Duration::from_secs(15);
/// How long a peer may stay silent (no pong, no frame) before its stream is closed.
const SILENT_FOR: Duration = Duration::from_secs(45);

/// The slots for open streams.
pub fn slots() -> Arc<Semaphore> {
	Arc::new(Semaphore::new(MAX_STREAMS))
}

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

/// `GET /api/events`: upgrades to a WebSocket that carries the events, while a slot is free.
pub async fn open(State(served): State<Arc<Served>>, upgrade: WebSocketUpgrade) -> Response {
	let Ok(slot) = served.streams.clone().try_acquire_owned() else {
		let why = format!("{MAX_STREAMS} event streams are open already: close one first");
		return Refusal(StatusCode::SERVICE_UNAVAILABLE, why).into_response();
	};
	let events = served.events.subscribe();
	// The client has nothing to say on this stream but its close.
	upgrade.max_message_size(4096).on_upgrade(move |socket| stream(socket, events, slot))
}

async fn stream(
	mut socket: WebSocket,
	mut events: broadcast::Receiver<Arc<String>>,
	_slot: OwnedSemaphorePermit,
) {
	let changed = json!({ "type": "changed" }).to_string();
	let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
	ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
	let mut heard = Instant::now();
	loop {
		let frame = tokio::select! {
			event = events.recv() => match event {
				Ok(text) => Message::Text(text.as_str().into()),
				Err(RecvError::Lagged(_)) => Message::Text(changed.as_str().into()),
				Err(RecvError::Closed) => return,
			},
			// The client's frames are not read, only its close; any frame (a pong) shows
			// it is there.
			incoming = socket.recv() => match incoming {
				Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
				Some(Ok(_)) => {
					heard = Instant::now();
					continue;
				}
			},
			_ = ping.tick() => {
				if heard.elapsed() >= SILENT_FOR {
					return;
				}
				Message::Ping(Default::default())
			},
		};
		// A peer that stops reading is as gone as one that stops answering.
		match tokio::time::timeout(SILENT_FOR, socket.send(frame)).await {
			Ok(Ok(())) => {}
			Ok(Err(_)) | Err(_) => return,
		}
	}
}
