//! Browser WebSockets behind [`RelaySockets`]: the relay transport and the NIP-65 publication
//! run the logic of [`crate::relay`] over [`WebSockets`], in this worker; the NIP-46 signer over
//! [`WorkerSockets`], whose connections live in a worker of their own (`relay-sockets.js`) with a
//! content security policy that names its apps' relays. Socket callbacks only queue events; the
//! driver takes them in order.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, WebSocket, Worker};

use super::timer::set_timeout;
use crate::relay::{RelaySockets, SocketEvent};

#[derive(Default)]
struct Queue {
    events: VecDeque<SocketEvent>,
    /// Resolves the promise the driver waits on, if it waits.
    wake: Option<js_sys::Function>,
}

impl Queue {
    fn push(queue: &Rc<RefCell<Self>>, event: SocketEvent) {
        let wake = {
            let mut queue = queue.borrow_mut();
            queue.events.push_back(event);
            queue.wake.take()
        };
        if let Some(wake) = wake {
            let _ = wake.call0(&JsValue::NULL);
        }
    }
}

/// The events of an exchange's sockets, in the order they happened, and the clock.
struct Events {
    queue: Rc<RefCell<Queue>>,
    started: f64,
}

impl Events {
    fn new() -> Self {
        Self {
            queue: Rc::default(),
            started: js_sys::Date::now(),
        }
    }

    fn push(&self, event: SocketEvent) {
        Queue::push(&self.queue, event);
    }

    fn now(&self) -> Duration {
        // Whole milliseconds: no float-to-duration code for this.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let millis = (js_sys::Date::now() - self.started).max(0.0) as u64;
        Duration::from_millis(millis)
    }

    async fn next(&self, wait: Duration) -> Option<SocketEvent> {
        if let Some(event) = self.queue.borrow_mut().events.pop_front() {
            return Some(event);
        }
        let queue = self.queue.clone();
        let millis = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        let woken = js_sys::Promise::new(&mut |resolve, _reject| {
            set_timeout(&resolve, millis);
            queue.borrow_mut().wake = Some(resolve);
        });
        let _ = JsFuture::from(woken).await;
        let mut queue = self.queue.borrow_mut();
        queue.wake = None;
        queue.events.pop_front()
    }
}

type Callback = Closure<dyn FnMut(JsValue)>;

/// One connection and the callbacks it holds.
struct Connection {
    socket: WebSocket,
    _callbacks: [Callback; 3],
}

impl Connection {
    fn detach(&self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// WebSockets opened in this worker, under its content security policy.
pub struct WebSockets {
    events: Events,
    open: HashMap<usize, Connection>,
    /// Connections replaced or closed: detached, their callbacks kept until the exchange ends so
    /// none is ever freed from under a running event.
    retired: Vec<Connection>,
}

impl std::fmt::Debug for WebSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSockets")
            .field("open", &self.open.len())
            .finish_non_exhaustive()
    }
}

impl Default for WebSockets {
    fn default() -> Self {
        Self::new()
    }
}

impl WebSockets {
    pub fn new() -> Self {
        Self {
            events: Events::new(),
            open: HashMap::new(),
            retired: Vec::new(),
        }
    }

    fn retire(&mut self, index: usize) {
        if let Some(connection) = self.open.remove(&index) {
            connection.detach();
            self.retired.push(connection);
        }
    }
}

impl RelaySockets for WebSockets {
    fn open(&mut self, index: usize, url: &str) {
        self.retire(index);
        // The page's content security policy names the relays the server announced; any other
        // address throws here and counts as a closed connection.
        let Ok(socket) = WebSocket::new(url) else {
            self.events.push(SocketEvent::Closed(index));
            return;
        };
        let queue = self.events.queue.clone();
        let on_open: Callback =
            Closure::new(move |_| Queue::push(&queue, SocketEvent::Opened(index)));
        let queue = self.events.queue.clone();
        let on_message: Callback = Closure::new(move |event: JsValue| {
            let text = event
                .dyn_ref::<MessageEvent>()
                .and_then(|message| message.data().as_string());
            if let Some(text) = text {
                Queue::push(&queue, SocketEvent::Message(index, text));
            }
        });
        let queue = self.events.queue.clone();
        // An error is always followed by a close, so the close alone is reported.
        let on_close: Callback =
            Closure::new(move |_| Queue::push(&queue, SocketEvent::Closed(index)));
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.open.insert(
            index,
            Connection {
                socket,
                _callbacks: [on_open, on_message, on_close],
            },
        );
    }

    fn send(&mut self, index: usize, text: &str) {
        if let Some(connection) = self.open.get(&index) {
            let _ = connection.socket.send_with_str(text);
        }
    }

    fn close_all(&mut self) {
        let indices: Vec<usize> = self.open.keys().copied().collect();
        for index in indices {
            self.retire(index);
        }
    }

    fn now(&self) -> Duration {
        self.events.now()
    }

    async fn next_event(&mut self, wait: Duration) -> Option<SocketEvent> {
        self.events.next(wait).await
    }
}

impl Drop for WebSockets {
    fn drop(&mut self) {
        self.close_all();
    }
}

/// What the worker of `relay-sockets.js` is told, as JSON; it answers with [`SocketEvent`]s.
#[derive(Debug, Serialize)]
enum SocketCommand<'a> {
    Open(usize, &'a str),
    Send(usize, &'a str),
    CloseAll,
}

/// WebSockets held by a worker of their own, `relay-sockets.js?connect=<relays>`, whose content
/// security policy the server makes from that list: the signer reaches its apps' relays while
/// the worker holding the key keeps the page's policy. Only NIP-44-encrypted events pass
/// through it. The worker ends when this is dropped.
pub struct WorkerSockets {
    events: Events,
    worker: Worker,
    _on_message: Callback,
}

impl std::fmt::Debug for WorkerSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerSockets").finish_non_exhaustive()
    }
}

impl WorkerSockets {
    /// Starts the worker, allowed to connect to `relays` and nowhere else.
    pub fn new(relays: &[String]) -> Result<Self, JsValue> {
        let address = format!(
            "relay-sockets.js?connect={}",
            js_sys::encode_uri_component(&relays.join(" "))
        );
        let worker = Worker::new(&address)?;
        let events = Events::new();
        let queue = events.queue.clone();
        let on_message: Callback = Closure::new(move |message: JsValue| {
            let event = message
                .dyn_ref::<MessageEvent>()
                .and_then(|message| message.data().as_string())
                .and_then(|text| serde_json::from_str::<SocketEvent>(&text).ok());
            if let Some(event) = event {
                Queue::push(&queue, event);
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Ok(Self {
            events,
            worker,
            _on_message: on_message,
        })
    }

    fn tell(&self, command: &SocketCommand<'_>) {
        if let Ok(text) = serde_json::to_string(command) {
            let _ = self.worker.post_message(&JsValue::from_str(&text));
        }
    }
}

impl RelaySockets for WorkerSockets {
    fn open(&mut self, index: usize, url: &str) {
        self.tell(&SocketCommand::Open(index, url));
    }

    fn send(&mut self, index: usize, text: &str) {
        self.tell(&SocketCommand::Send(index, text));
    }

    fn close_all(&mut self) {
        self.tell(&SocketCommand::CloseAll);
    }

    fn now(&self) -> Duration {
        self.events.now()
    }

    async fn next_event(&mut self, wait: Duration) -> Option<SocketEvent> {
        self.events.next(wait).await
    }
}

impl Drop for WorkerSockets {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.terminate();
    }
}
