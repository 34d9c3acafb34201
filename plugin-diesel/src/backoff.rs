//! When to try again after a failure: a delay doubling from a first one up to a ceiling,
//! back to the first after a success. (The PostgreSQL change feed's subscriptions: a
//! watcher asks for one every poll while it has none, and each attempt at a host that does
//! not answer costs a whole connect time-out.)

use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Backoff {
    first: Duration,
    ceiling: Duration,
    delay: Duration,
    /// No attempt before this, after a failure.
    not_before: Option<Instant>,
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl Backoff {
    pub(crate) fn new(first: Duration, ceiling: Duration) -> Backoff {
        Backoff {
            first,
            ceiling,
            delay: first,
            not_before: None,
        }
    }

    /// `Err(left)` while the last failure's delay runs, else `Ok`.
    pub(crate) fn ready(&self, now: Instant) -> Result<(), Duration> {
        match self.not_before {
            Some(at) if now < at => Err(at - now),
            _ => Ok(()),
        }
    }

    /// An attempt at `now` failed: the next waits the delay, which doubles.
    pub(crate) fn failed(&mut self, now: Instant) {
        self.not_before = Some(now + self.delay);
        self.delay = (self.delay * 2).min(self.ceiling);
    }

    /// An attempt succeeded: the next failure waits the first delay again.
    pub(crate) fn succeeded(&mut self) {
        self.not_before = None;
        self.delay = self.first;
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Backoff;

    #[test]
    fn the_delay_doubles_up_to_the_ceiling_and_resets_on_success() {
        let second = Duration::from_secs(1);
        let mut backoff = Backoff::new(second, 4 * second);
        let start = Instant::now();
        assert_eq!(backoff.ready(start), Ok(()));
        let mut at = start;
        for delay in [1, 2, 4, 4] {
            backoff.failed(at);
            let delay = delay * second;
            assert_eq!(backoff.ready(at), Err(delay));
            assert!(
                backoff
                    .ready(at + delay - Duration::from_millis(1))
                    .is_err()
            );
            at += delay;
            assert_eq!(backoff.ready(at), Ok(()));
        }
        backoff.succeeded();
        assert_eq!(backoff.ready(at), Ok(()));
        backoff.failed(at);
        assert_eq!(backoff.ready(at), Err(second));
    }
}
