//! The memory allocator of every service binary: jemalloc, set to give freed memory back to the
//! operating system about a second after a burst, from its own background threads.
//!
//! glibc's malloc keeps what a burst of connections allocated: the product service stayed at
//! ~55 MiB after 10 s of 1,024 connections, where jemalloc with these settings is back to
//! 15-16.5 MiB within a few seconds (docs/performance.md, "Memory under 1,024 connections").
//!
//! A binary opts in with two lines in its `main.rs`:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: microshop_alloc::Allocator = microshop_alloc::Allocator;
//! ```
//!
//! Libraries and tests keep the system allocator.

/// jemalloc, with [`SETTINGS`] compiled in.
pub use tikv_jemallocator::Jemalloc as Allocator;

/// jemalloc's settings (its `malloc_conf`), each measured (docs/performance.md): background
/// threads purge unused pages, dirty pages go back after 1 s instead of 10 s and are never kept
/// "muzzy" (lazily freed); one arena instead of four per CPU (less memory kept half-used under
/// load). Per-thread caches stay on: without them every allocation takes the arena's lock,
/// which cost half of GET throughput on two cores (21,000 against 46,000 rps). They are kept
/// small (objects up to 1 KiB, 20 of each size): an idle thread never empties its cache, and the
/// defaults (up to 32 KiB, 200 of each) left the product service 1-2 MiB larger once idle after
/// a burst, for no throughput measurably gained. `_RJEM_MALLOC_CONF` in the environment
/// overrides them at start, for experiments.
pub const SETTINGS: &str = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:1,\
     tcache:true,tcache_max:1024,tcache_nslots_small_max:20";

const SETTINGS_C: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:1,\
     tcache:true,tcache_max:1024,tcache_nslots_small_max:20\0";

/// What jemalloc reads at start: a pointer to [`SETTINGS`] as a C string, under the symbol
/// name of this build of jemalloc (`_rjem_` prefix).
#[allow(unsafe_code)] // an exported symbol: nothing else in the program may have this name
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8; SETTINGS_C.len()] = match SETTINGS_C.first_chunk() {
    Some(settings) => settings,
    None => unreachable!(),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exported_settings_are_the_documented_ones_as_a_c_string() {
        let (last, text) = MALLOC_CONF.split_last().expect("not empty");
        assert_eq!(*last, 0);
        assert_eq!(std::str::from_utf8(text), Ok(SETTINGS));
    }
}
