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

/// What this process remembers of a request id.
#[derive(Debug, Clone, PartialEq)]
pub enum Recall {
    /// Answered: the reply made for it.
    Reply(Event),
    /// Admitted and being answered, or refused after admission: a copy is a replay.
    Seen,
    /// Not seen lately by this process (the database's replay record still may have it).
    Unknown,
}

#[derive(Debug, Default)]
struct Remembered {
    /// `None` while the request is being answered.
    by_request: HashMap<[u8; 32], Option<Event>>,
    order: VecDeque<[u8; 32]>,
}

impl Remembered {
    fn insert(&mut self, capacity: usize, request_id: [u8; 32], reply: Option<Event>) {
        if self.by_request.insert(request_id, reply).is_none() {
            self.order.push_back(request_id);
        }
        while self.order.len() > capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.by_request.remove(&oldest);
            }
        }
    }
}

impl RecentReplies {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    /// Notes a request admitted as fresh, before its reply exists.
    pub fn admitted(&self, request_id: [u8; 32]) {
        if let Ok(mut remembered) = self.inner.lock() {
            remembered.insert(self.capacity, request_id, None);
        }
    }

    pub fn remember(&self, request_id: [u8; 32], reply: Event) {
        if let Ok(mut remembered) = self.inner.lock() {
            remembered.insert(self.capacity, request_id, Some(reply));
        }
    }

    pub fn recall(&self, request_id: &[u8; 32]) -> Recall {
        let Ok(remembered) = self.inner.lock() else {
            return Recall::Unknown;
        };
        match remembered.by_request.get(request_id) {
            Some(Some(reply)) => Recall::Reply(reply.clone()),
            Some(None) => Recall::Seen,
            None => Recall::Unknown,
        }
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
        assert_eq!(replies.recall(&[1; 32]), Recall::Unknown);
        assert_eq!(replies.recall(&[2; 32]), Recall::Reply(two));
        assert_eq!(replies.recall(&[3; 32]), Recall::Reply(three));
    }

    #[test]
    fn an_admitted_request_is_seen_until_its_reply_is_made() {
        let replies = RecentReplies::new(2);
        replies.admitted([1; 32]);
        assert_eq!(replies.recall(&[1; 32]), Recall::Seen);
        let answer = reply("1");
        replies.remember([1; 32], answer.clone());
        assert_eq!(replies.recall(&[1; 32]), Recall::Reply(answer));
        replies.admitted([2; 32]);
        replies.admitted([3; 32]);
        assert_eq!(
            replies.recall(&[1; 32]),
            Recall::Unknown,
            "pending ones count too"
        );
    }
}
