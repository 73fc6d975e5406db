//! The cache's settings, from the environment.

/// How the cache talks to Redis and how much it keeps in process.
#[derive(Debug, Clone, clap::Args)]
pub struct CacheConfig {
    /// `false` turns the cache off: every read goes to the database (to measure what the cache
    /// buys, or to rule it out).
    #[arg(long, env = "CACHE_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub cache_enabled: bool,
    /// Bound on each Redis round trip of a read or an invalidation, in milliseconds; past it
    /// the read goes to the database.
    #[arg(long, env = "CACHE_TIMEOUT_MS", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub cache_timeout_ms: u64,
    /// Entries kept in process per space, in front of Redis; 0 disables the in-process layer.
    #[arg(long, env = "CACHE_LOCAL_ENTRIES", default_value_t = 10_000)]
    pub cache_local_entries: u64,
    /// Safety expiry of cached values in seconds (generations live twice as long); it bounds
    /// memory, invalidation is what keeps reads fresh.
    #[arg(long, env = "CACHE_TTL_S", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=30 * 24 * 3600))]
    pub cache_ttl_s: u64,
}
