//! Redis key names of the cache, and the tag that ties a stored value to its generations.

use microshop_limits::Redis;

/// Names under `{prefix}cache:{service}:`.
pub(crate) struct Keys {
    base: String,
}

impl Keys {
    pub(crate) fn new(redis: &Redis, service: &str) -> Self {
        Self {
            base: redis.key(&format!("cache:{service}:")),
        }
    }

    /// Where `space`'s names start (`{base}{space}:`).
    pub(crate) fn space(&self, space: &str) -> String {
        format!("{}{space}:", self.base)
    }

    /// The cache-wide generation, replaced after an invalidation could not reach Redis.
    pub(crate) fn epoch(&self) -> String {
        format!("{}epoch", self.base)
    }

    /// The pub/sub channel of invalidations.
    pub(crate) fn channel(&self) -> String {
        format!("{}invalidations", self.base)
    }
}

/// A value's key under its space's names.
pub(crate) fn value(space: &str, key: &str) -> String {
    format!("{space}v:{key}")
}

/// A key's generation under its space's names.
pub(crate) fn key_generation(space: &str, key: &str) -> String {
    format!("{space}gen:{key}")
}

/// The space's own generation.
pub(crate) fn space_generation(space: &str) -> String {
    format!("{space}gen")
}

/// A new generation: random, so it never equals one an old entry carries, even after its key
/// expired or was evicted.
pub(crate) fn fresh_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Splits a stored `{tag}|{json}` and returns the JSON when the tag is exactly `generations`
/// (`None` = absent, which no stored tag contains).
pub(crate) fn current<'a>(stored: &'a str, generations: &[Option<String>]) -> Option<&'a str> {
    let (tag, json) = stored.split_once('|')?;
    let mut parts = tag.split('/');
    for generation in generations {
        if parts.next() != Some(generation.as_deref()?) {
            return None;
        }
    }
    parts.next().is_none().then_some(json)
}

#[cfg(test)]
mod tests {
    use super::current;

    fn some(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| Some((*v).to_owned())).collect()
    }

    #[test]
    fn a_value_is_current_only_under_exactly_its_generations() {
        let stored = "e1/s1/k1|{\"a\":1}";
        assert_eq!(
            current(stored, &some(&["e1", "s1", "k1"])),
            Some("{\"a\":1}")
        );
        assert_eq!(current(stored, &some(&["e1", "s1", "k2"])), None);
        assert_eq!(current(stored, &some(&["e2", "s1", "k1"])), None);
        assert_eq!(current(stored, &some(&["e1", "s1"])), None);
        assert_eq!(current("e1/s1|1", &some(&["e1", "s1", "k1"])), None);
    }

    #[test]
    fn an_absent_generation_never_matches() {
        let generations = vec![Some("e1".to_owned()), None];
        assert_eq!(current("e1/|1", &generations), None);
        assert_eq!(current("no tag", &some(&["e1"])), None);
    }
}
