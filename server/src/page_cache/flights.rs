//! Renders in progress, so that requests for a page being rendered wait for that render instead
//! of each rendering it again.
//!
//! Without this, a page dropped by a change (or expired) under load was rendered by every
//! request that arrived before the first render finished, and the slower renders became, the
//! more requests rendered: the misses of one page multiplied with its render time.
//!
//! The first request renders in its own task, as any request does (no future is shared, and
//! nobody waits on a future that only another request drives, the pattern under which moka's
//! `get_with` waiters stalled: moka-rs/moka#240). The others wait on a channel for the page it
//! stored, for a bounded time; if the first request fails, is cancelled (its client went away)
//! or renders a page that may not be shared, they render the page themselves.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

/// What the waiters are told: `None` while the render runs, then the page, or `Some(None)` when
/// there is nothing to share.
type Outcome<T> = Option<Option<T>>;

/// The renders in progress, by cache key.
#[derive(Debug)]
pub(super) struct Flights<T> {
    flights: Mutex<HashMap<String, Flight<T>>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Flights {
            flights: Mutex::default(),
            next_id: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

#[derive(Debug)]
struct Flight<T> {
    id: u64,
    outcome: watch::Receiver<Outcome<T>>,
}

/// A request's part in the render of its page.
pub(super) enum Joined<'a, T> {
    /// It renders the page, and tells the others when done.
    Lead(Lead<'a, T>),
    /// Another request renders it: wait with [`wait`].
    Follow(watch::Receiver<Outcome<T>>),
}

/// The request rendering a page. Dropped without [`Lead::finish`] (an error, a page that may
/// not be shared, a cancelled request), it tells the waiters to render for themselves.
pub(super) struct Lead<'a, T> {
    flights: &'a Flights<T>,
    key: String,
    id: u64,
    outcome: watch::Sender<Outcome<T>>,
}

impl<T: Clone> Flights<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flight<T>>> {
        self.flights.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the render of `key` in progress, or leads a new one.
    pub(super) fn join(&self, key: &str) -> Joined<'_, T> {
        let mut flights = self.lock();
        if let Some(flight) = flights.get(key) {
            return Joined::Follow(flight.outcome.clone());
        }
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (outcome, receiver) = watch::channel(None);
        flights.insert(key.to_owned(), Flight { id, outcome: receiver });
        Joined::Lead(Lead {
            flights: self,
            key: key.to_owned(),
            id,
            outcome,
        })
    }

    /// Whether `key` is being rendered.
    pub(super) fn is_running(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }

    /// How many renders are in progress.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl<T> Lead<'_, T> {
    /// Hands the rendered page to the waiters.
    pub(super) fn finish(self, page: T) {
        // Nobody waiting is fine.
        let _ = self.outcome.send(Some(Some(page)));
    }
}

impl<T> Drop for Lead<'_, T> {
    fn drop(&mut self) {
        let mut flights = self
            .flights
            .flights
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if flights.get(&self.key).is_some_and(|f| f.id == self.id) {
            flights.remove(&self.key);
        }
        drop(flights);
        // Waiters still waiting render for themselves (when the page was handed over, this
        // changes nothing for them).
        self.outcome.send_if_modified(|outcome| {
            let unfinished = outcome.is_none();
            if unfinished {
                *outcome = Some(None);
            }
            unfinished
        });
    }
}

/// The page the leading request rendered, waiting at most `limit`; `None` when it has nothing
/// to share or takes longer.
pub(super) async fn wait<T: Clone>(mut outcome: watch::Receiver<Outcome<T>>, limit: Duration) -> Option<T> {
    match tokio::time::timeout(limit, outcome.wait_for(Option::is_some)).await {
        Ok(Ok(outcome)) => outcome.clone().flatten(),
        // Timed out, or the leader's channel is gone.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn waiters_get_the_leaders_page() {
        let flights: Flights<&'static str> = Flights::default();
        let Joined::Lead(lead) = flights.join("page") else {
            panic!("the first request leads")
        };
        let (Joined::Follow(a), Joined::Follow(b)) = (flights.join("page"), flights.join("page")) else {
            panic!("later requests follow")
        };
        assert!(
            matches!(flights.join("other"), Joined::Lead(_)),
            "other pages are apart"
        );
        let waiting = tokio::spawn(async move { (wait(a, LIMIT).await, wait(b, LIMIT).await) });
        lead.finish("<html>");
        assert_eq!(waiting.await.expect("task"), (Some("<html>"), Some("<html>")));
        assert_eq!(flights.len(), 0, "the flight is over");
        assert!(
            matches!(flights.join("page"), Joined::Lead(_)),
            "the next miss leads again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_render_themselves_when_the_leader_gives_up() {
        let flights: Flights<&'static str> = Flights::default();
        let Joined::Lead(lead) = flights.join("page") else {
            panic!("the first request leads")
        };
        let Joined::Follow(waiter) = flights.join("page") else {
            panic!("a follower")
        };
        // An error page, a page marked not to be kept, or a cancelled request.
        drop(lead);
        // Paused time moves only when every task waits on a timer: told at once, it did not.
        let started = tokio::time::Instant::now();
        assert_eq!(wait(waiter, LIMIT).await, None);
        assert_eq!(started.elapsed(), Duration::ZERO, "told at once, not after the limit");
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_stops_waiting_after_the_limit() {
        let flights: Flights<&'static str> = Flights::default();
        let Joined::Lead(_slow) = flights.join("page") else {
            panic!("the first request leads")
        };
        let Joined::Follow(waiter) = flights.join("page") else {
            panic!("a follower")
        };
        let started = tokio::time::Instant::now();
        assert_eq!(wait(waiter, LIMIT).await, None);
        assert_eq!(started.elapsed(), LIMIT, "it waited the limit, and no longer");
    }
}
