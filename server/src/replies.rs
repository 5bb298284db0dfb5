//! The replies made lately, by request id, so that a request seen again gets the reply already
//! made for it, whichever transport brought either copy: a client whose reply was lost resends
//! the same event, and a copy of an event read off a relay and posted over HTTP by someone else
//! must not leave the real client without its answer. The oldest are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sigil_shared::nostr::event::Event;

/// Replies kept. At about 1.9 KB each, 4,096 hold a few seconds of peak load in 8 MB; a client
/// resends within seconds.
pub const REMEMBERED_REPLIES: usize = 4096;

#[derive(Debug)]
pub struct RecentReplies {
    capacity: usize,
    inner: Mutex<Remembered>,
}

#[derive(Debug, Default)]
struct Remembered {
    by_request: HashMap<[u8; 32], Event>,
    order: VecDeque<[u8; 32]>,
}

impl RecentReplies {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    pub fn remember(&self, request_id: [u8; 32], reply: Event) {
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let remembered = &mut *guard;
        if remembered.by_request.insert(request_id, reply).is_none() {
            remembered.order.push_back(request_id);
        }
        while remembered.order.len() > self.capacity {
            if let Some(oldest) = remembered.order.pop_front() {
                remembered.by_request.remove(&oldest);
            }
        }
    }

    pub fn get(&self, request_id: &[u8; 32]) -> Option<Event> {
        self.inner.lock().ok()?.by_request.get(request_id).cloned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sigil_shared::nostr::event::{FinalizeEvent, Kind, UnsignedEvent};
    use sigil_shared::nostr::key::Keys;
    use sigil_shared::nostr::types::Timestamp;

    use super::*;

    fn reply(content: &str) -> Event {
        let keys = Keys::generate();
        UnsignedEvent::new(
            keys.public_key(),
            Timestamp::from(1),
            Kind::from(1u16),
            [],
            content,
        )
        .finalize(&keys)
        .unwrap()
    }

    #[test]
    fn the_oldest_reply_is_forgotten_first() {
        let replies = RecentReplies::new(2);
        let (one, two, three) = (reply("1"), reply("2"), reply("3"));
        replies.remember([1; 32], one.clone());
        replies.remember([2; 32], two.clone());
        replies.remember([1; 32], one);
        replies.remember([3; 32], three.clone());
        assert_eq!(replies.get(&[1; 32]), None);
        assert_eq!(replies.get(&[2; 32]), Some(two));
        assert_eq!(replies.get(&[3; 32]), Some(three));
    }
}
