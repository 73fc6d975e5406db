//! The book of webhook events: each event's copies still to deliver, the attempts due and when,
//! the events held by the test control, and what `GET /v1/test/deliveries` shows. Plain data
//! under the deliverer's lock; nothing here waits or sends.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use crate::domain::{Event, ReleaseOrder};

use super::Retry;

/// The events, their pending attempts and the held ones.
pub struct Ledger {
    records: HashMap<String, Record>,
    /// Raise order → event id.
    order: BTreeMap<u64, String>,
    /// Attempts to make, soonest first.
    queue: BinaryHeap<Reverse<Job>>,
    /// Held events, in raise order.
    held: Vec<String>,
    next: u64,
    capacity: usize,
}

/// One event as the ledger knows it.
#[derive(Debug, Clone)]
pub struct Record {
    /// `evt_…`.
    pub event_id: String,
    /// Its type.
    pub kind: &'static str,
    /// The session it is about.
    pub session_id: String,
    body: Arc<[u8]>,
    copies: u32,
    /// Copies neither delivered nor given up.
    open_copies: u32,
    /// Attempts made, over all copies.
    pub attempts: u32,
    /// A copy was answered 2xx.
    pub delivered: bool,
    /// A copy failed its last allowed attempt.
    pub given_up: bool,
    /// Held by the test control, not sent yet.
    pub held: bool,
    /// The HTTP status of the last answer (none: no answer).
    pub last_status: Option<u16>,
    /// Why the last attempt got no answer.
    pub last_error: Option<String>,
}

/// One attempt to make: which event, after how many attempts of this copy, and when.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Job {
    /// When it is due.
    pub due: Instant,
    seq: u64,
    /// The event.
    pub event_id: String,
    /// Attempts this copy has had.
    pub attempts: u32,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The receiver answered with this status.
    Status(u16),
    /// No answer: refused, timed out, broken off.
    None(String),
}

impl Answer {
    /// Whether the event counts as delivered.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Status(status) if (200..300).contains(status))
    }
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Delivered; this copy is done.
    Delivered,
    /// Tried again after this long.
    Retry(std::time::Duration),
    /// The last allowed attempt failed; this copy is dropped.
    GivenUp,
    /// The event is no longer known (it cannot be: pending events are kept).
    Forgotten,
}

impl Ledger {
    /// An empty ledger keeping at most `capacity` finished events.
    pub fn new(capacity: usize) -> Self {
        Self {
            records: HashMap::new(),
            order: BTreeMap::new(),
            queue: BinaryHeap::new(),
            held: Vec::new(),
            next: 0,
            capacity: capacity.max(1),
        }
    }

    fn seq(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn job(&mut self, event_id: &str, attempts: u32, due: Instant) -> Job {
        Job {
            due,
            seq: self.seq(),
            event_id: event_id.to_owned(),
            attempts,
        }
    }

    /// Records `event` to be delivered `copies` times; the first attempt of each copy, due now,
    /// unless the event is held.
    pub fn add(&mut self, event: Event, copies: u32, hold: bool) -> Vec<Job> {
        if self.records.len() >= self.capacity {
            self.evict_one();
        }
        let seq = self.seq();
        let copies = copies.max(1);
        self.order.insert(seq, event.id.clone());
        self.records.insert(
            event.id.clone(),
            Record {
                event_id: event.id.clone(),
                kind: event.kind,
                session_id: event.session_id,
                body: event.body.into(),
                copies,
                open_copies: copies,
                attempts: 0,
                delivered: false,
                given_up: false,
                held: hold,
                last_status: None,
                last_error: None,
            },
        );
        if hold {
            self.held.push(event.id);
            return Vec::new();
        }
        self.first_jobs(&event.id, copies)
    }

    fn first_jobs(&mut self, event_id: &str, copies: u32) -> Vec<Job> {
        let now = Instant::now();
        (0..copies).map(|_| self.job(event_id, 0, now)).collect()
    }

    /// Forgets the oldest finished event, if there is one (pending and held ones are kept).
    fn evict_one(&mut self) {
        let finished = self.order.iter().find_map(|(seq, id)| {
            let record = self.records.get(id)?;
            (record.open_copies == 0 && !record.held).then_some(*seq)
        });
        if let Some(id) = finished.and_then(|seq| self.order.remove(&seq)) {
            self.records.remove(&id);
        }
    }

    /// Queues `job`.
    pub fn schedule(&mut self, job: Job) {
        self.queue.push(Reverse(job));
    }

    /// Takes the jobs due at `now`; also says when the next one is due.
    pub fn due(&mut self, now: Instant) -> (Vec<Job>, Option<Instant>) {
        let mut ready = Vec::new();
        while let Some(Reverse(job)) = self.queue.peek() {
            if job.due > now {
                return (ready, Some(job.due));
            }
            if let Some(Reverse(job)) = self.queue.pop() {
                ready.push(job);
            }
        }
        (ready, None)
    }

    /// The body to send for `event_id`.
    pub fn body(&self, event_id: &str) -> Option<Arc<[u8]>> {
        self.records.get(event_id).map(|r| Arc::clone(&r.body))
    }

    /// Records how `job`'s attempt ended and queues its retry if one is due.
    pub fn finish(&mut self, job: &Job, answer: Answer, retry: &Retry) -> Next {
        let attempts = job.attempts + 1;
        let success = answer.is_success();
        let Some(record) = self.records.get_mut(&job.event_id) else {
            return Next::Forgotten;
        };
        record.attempts += 1;
        (record.last_status, record.last_error) = match answer {
            Answer::Status(status) => (Some(status), None),
            Answer::None(why) => (None, Some(why)),
        };
        if success {
            record.delivered = true;
            record.open_copies = record.open_copies.saturating_sub(1);
            return Next::Delivered;
        }
        if attempts >= retry.max_attempts {
            record.given_up = true;
            record.open_copies = record.open_copies.saturating_sub(1);
            return Next::GivenUp;
        }
        let delay = retry.delay(attempts);
        let next = self.job(&job.event_id, attempts, Instant::now() + delay);
        self.schedule(next);
        Next::Retry(delay)
    }

    /// Un-holds every held event; the number of events and the first attempts of their copies,
    /// in `order` (the copies of one event side by side).
    pub fn release(&mut self, order: ReleaseOrder) -> (usize, Vec<Job>) {
        let mut held = std::mem::take(&mut self.held);
        if order == ReleaseOrder::Reversed {
            held.reverse();
        }
        let mut jobs = Vec::new();
        let mut released = 0;
        for id in held {
            let Some(record) = self.records.get_mut(&id) else {
                continue;
            };
            record.held = false;
            let copies = record.copies;
            released += 1;
            jobs.extend(self.first_jobs(&id, copies));
        }
        (released, jobs)
    }

    /// Every event kept, in raise order.
    pub fn records(&self) -> Vec<Record> {
        self.order
            .values()
            .filter_map(|id| self.records.get(id))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn event(n: u8) -> Event {
        Event {
            id: format!("evt_{n}"),
            kind: "checkout.succeeded",
            session_id: "cs_1".to_owned(),
            body: vec![n],
        }
    }

    fn retry(max_attempts: u32) -> Retry {
        Retry {
            base: Duration::from_millis(10),
            max: Duration::from_millis(40),
            max_attempts,
        }
    }

    #[test]
    fn each_copy_is_retried_until_delivered_or_given_up() {
        let mut ledger = Ledger::new(10);
        let jobs = ledger.add(event(1), 2, false);
        assert_eq!(jobs.len(), 2);
        let next = ledger.finish(&jobs[0], Answer::Status(500), &retry(2));
        assert!(matches!(next, Next::Retry(_)));
        let (due, _) = ledger.due(Instant::now() + Duration::from_secs(1));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].attempts, 1);
        assert_eq!(
            ledger.finish(&due[0], Answer::None("refused".into()), &retry(2)),
            Next::GivenUp
        );
        assert_eq!(
            ledger.finish(&jobs[1], Answer::Status(204), &retry(2)),
            Next::Delivered
        );
        let record = &ledger.records()[0];
        assert_eq!(
            (record.attempts, record.delivered, record.given_up),
            (3, true, true)
        );
        assert_eq!(record.last_status, Some(204));
    }

    #[test]
    fn held_events_are_released_in_either_order() {
        let mut ledger = Ledger::new(10);
        for n in 1..=3 {
            assert!(ledger.add(event(n), 1, true).is_empty());
        }
        let (released, jobs) = ledger.release(ReleaseOrder::Reversed);
        assert_eq!(released, 3);
        let ids: Vec<&str> = jobs.iter().map(|j| j.event_id.as_str()).collect();
        assert_eq!(ids, ["evt_3", "evt_2", "evt_1"]);
        assert_eq!(ledger.release(ReleaseOrder::Sent).0, 0);
    }

    #[test]
    fn only_finished_events_are_forgotten_beyond_the_capacity() {
        let mut ledger = Ledger::new(2);
        let pending = ledger.add(event(1), 1, false);
        let done = ledger.add(event(2), 1, false);
        ledger.finish(&done[0], Answer::Status(200), &retry(3));
        ledger.add(event(3), 1, false);
        let ids: Vec<String> = ledger.records().into_iter().map(|r| r.event_id).collect();
        assert_eq!(ids, ["evt_1", "evt_3"]);
        assert!(ledger.body(&pending[0].event_id).is_some());
    }
}
