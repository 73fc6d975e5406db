//! Where log lines go: an in-memory buffer that a background thread writes to standard output
//! in one `write` at most every [`GATHER`]. A service answering thousands of requests a second
//! logs thousands of lines; written one by one they cost a system call each, and handing each to
//! a writer thread through a channel (tracing-appender) cost three (send, wake-up, write), which
//! profiles showed as a fifth of the product service's system calls (docs/performance.md).
//!
//! When the output cannot keep up, at most [`MAX_BUFFERED`] bytes wait; lines beyond that are
//! dropped and counted, and the count is written as soon as there is room again.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer waits after the first line of a burst before writing the burst.
const GATHER: Duration = Duration::from_millis(10);
/// Bytes that may wait for the writer; beyond this, lines are dropped.
const MAX_BUFFERED: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A thread that panicked while holding the lock left whole lines behind (appends are
        // single `extend_from_slice` calls), so the buffer is still usable.
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The `MakeWriter` handed to `tracing-subscriber`; cheap to clone.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Stops the writer thread after it wrote everything still buffered.
pub struct WriterGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread; `dropped_line` renders the note about dropped lines in the
/// output's own format.
pub fn spawn(dropped_line: fn(u64) -> String) -> io::Result<(BatchWriter, WriterGuard)> {
    let shared = Arc::new(Shared::default());
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn({
            let shared = Arc::clone(&shared);
            move || write_until_closed(&shared, dropped_line)
        })?;
    Ok((
        BatchWriter {
            shared: Arc::clone(&shared),
        },
        WriterGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn write_until_closed(shared: &Shared, dropped_line: fn(u64) -> String) {
    let mut batch = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.bytes.is_empty() && pending.dropped == 0 && !pending.closed {
            pending = shared
                .ready
                .wait(pending)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if !pending.closed {
            // Let the rest of the burst arrive, then take it all.
            drop(pending);
            std::thread::sleep(GATHER);
            pending = shared.lock();
        }
        std::mem::swap(&mut batch, &mut pending.bytes);
        let dropped = std::mem::take(&mut pending.dropped);
        let closed = pending.closed;
        drop(pending);
        if dropped > 0 {
            batch.extend_from_slice(dropped_line(dropped).as_bytes());
        }
        let mut stdout = io::stdout().lock();
        // Nowhere to report a failing stdout; the lines are lost either way.
        let _ = stdout.write_all(&batch).and_then(|()| stdout.flush());
        batch.clear();
        if closed {
            return;
        }
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for BatchWriter {
    /// Takes one formatted line (the subscriber writes each event whole).
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut pending = self.shared.lock();
        if pending.bytes.len() + line.len() > MAX_BUFFERED {
            pending.dropped += 1;
        } else {
            let was_empty = pending.bytes.is_empty();
            pending.bytes.extend_from_slice(line);
            if was_empty {
                self.shared.ready.notify_one();
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_beyond_the_limit_are_counted_not_kept() {
        let shared = Arc::new(Shared::default());
        let mut writer = BatchWriter {
            shared: Arc::clone(&shared),
        };
        let line = vec![b'x'; 1024];
        for _ in 0..(MAX_BUFFERED / 1024 + 10) {
            writer.write_all(&line).unwrap();
        }
        let pending = shared.lock();
        assert_eq!(pending.bytes.len(), MAX_BUFFERED);
        assert_eq!(pending.dropped, 10);
    }
}
