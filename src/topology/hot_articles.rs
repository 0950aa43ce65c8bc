//! Articles likely to change again soon, whose scheduled revisits go ahead of
//! the others on their host.
//!
//! Edits come in bursts: an article that just changed often changes again at
//! the next edit, and when a wire story changes, its copies follow within the
//! story window. On a host that answers slowly (rate limits, Retry-After
//! pauses), revisits queue; taking these articles first keeps two quick edits
//! from being fetched as one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Entries at which expired ones are swept out.
const SWEEP_AT: usize = 4096;

/// Article ids and until when each is hot.
pub(crate) struct HotArticles {
    span: Duration,
    until: Mutex<HashMap<String, Instant>>,
}

impl HotArticles {
    /// Articles stay hot for `span` after the last change of their story.
    pub fn new(span: Duration) -> HotArticles {
        HotArticles {
            span,
            until: Mutex::new(HashMap::new()),
        }
    }

    /// The story of `ids` just changed: they are hot for the next span.
    pub fn warm<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let now = Instant::now();
        let until = now + self.span;
        let mut map = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SWEEP_AT {
            map.retain(|_, t| *t > now);
        }
        for id in ids {
            map.insert(id.to_string(), until);
        }
    }

    /// Whether `id`'s story changed within the span.
    pub fn is_hot(&self, id: &str) -> bool {
        let map = self.until.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id).is_some_and(|t| *t > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_article_and_its_copies_are_hot_for_the_span_only() {
        let hot = HotArticles::new(Duration::from_secs(40));
        hot.warm(["a", "b"]);
        assert!(hot.is_hot("a") && hot.is_hot("b"));
        assert!(!hot.is_hot("c"));
        tokio::time::advance(Duration::from_secs(41)).await;
        assert!(!hot.is_hot("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn expired_entries_are_swept() {
        let hot = HotArticles::new(Duration::from_secs(1));
        let ids: Vec<String> = (0..SWEEP_AT).map(|i| i.to_string()).collect();
        hot.warm(ids.iter().map(String::as_str));
        tokio::time::advance(Duration::from_secs(2)).await;
        hot.warm(["fresh"]);
        let len = hot.until.lock().unwrap().len();
        assert_eq!(len, 1);
        assert!(hot.is_hot("fresh"));
    }
}
