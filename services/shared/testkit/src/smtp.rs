//! A real SMTP server for tests of code that sends mail: `scripts/smtp-sink.py`, the sink
//! `make up` runs, started as a child process on a free loopback port. It keeps each message as
//! one `.eml` file in a directory of its own, which [`SmtpSink::messages`] reads back parsed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_parser::{MessageParser, PartType};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::{PATIENCE, eventually_some};

/// The start of the line the sink prints once it accepts connections.
const LISTENING: &str = "smtp-sink: listening on ";

/// A running SMTP sink; killed, and its directory removed, when dropped.
pub struct SmtpSink {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl SmtpSink {
    /// Starts the sink on a free loopback port, writing to a new temporary directory, and
    /// waits until it accepts connections.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "microshop-smtp-sink-{}",
            uuid::Uuid::now_v7().simple()
        ));
        match spawn(0, &dir).await {
            Ok((child, port)) => Self { child, port, dir },
            Err(output) => {
                let _ = std::fs::remove_dir_all(&dir);
                panic!("the SMTP sink did not start; its output:\n{output}")
            }
        }
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, no TLS, no authentication (what lettre's
    /// `from_url` takes).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (the same across [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding one `.eml` file per message.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the sink gracefully (SIGTERM) and waits until it has exited: new connections are
    /// refused, as by a mail server that is down. Does nothing if it is stopped already.
    pub async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            let status = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .expect("kill(1) runs");
            assert!(status.success(), "kill -TERM {pid} failed");
        }
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the SMTP sink stops within the test's patience")
            .expect("waiting on a child works");
    }

    /// Stops the sink if it runs and starts it again on the same port and directory (the
    /// messages received so far stay); while the port is still held, tries again for up to
    /// five seconds.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut last_output = String::new();
        for _ in 0..100 {
            match spawn(self.port, &self.dir).await {
                Ok((child, _)) => {
                    self.child = child;
                    return;
                }
                Err(output) => last_output = output,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the SMTP sink could not start again on port {}; its output:\n{last_output}",
            self.port
        );
    }

    /// Every message received so far, parsed, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .expect("the sink created its directory before it listened")
            .map(|entry| entry.expect("the sink's directory is readable").path())
            // The sink writes `.<name>.eml.tmp` and renames it: only whole messages end so.
            .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
            .collect();
        // The names start with the arrival time in nanoseconds, all of the same width.
        files.sort();
        files
            .iter()
            .map(|file| {
                let bytes = std::fs::read(file).expect("a stored message is readable");
                ReceivedMail::parse(&bytes)
                    .unwrap_or_else(|| panic!("{} is not a message the sink wrote", file.display()))
            })
            .collect()
    }

    /// Waits until at least `count` messages have arrived (for up to [`PATIENCE`]) and returns
    /// them all.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        let what = format!("the SMTP sink has received {count} message(s)");
        eventually_some(&what, async || {
            let messages = self.messages();
            (messages.len() >= count).then_some(messages)
        })
        .await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Killed first, so that it writes nothing into the directory being removed.
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One message the sink received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope's sender (`MAIL FROM`); `<>` for a bounce.
    pub envelope_from: String,
    /// The envelope's recipients (`RCPT TO`) in order: Bcc recipients show only here.
    pub envelope_to: Vec<String>,
    /// The header fields in order, unfolded, values as written (encoded words stay encoded).
    pub headers: Vec<(String, String)>,
    /// The subject, decoded.
    pub subject: Option<String>,
    /// The first text/plain body, transfer encoding and charset decoded.
    pub text: Option<String>,
    /// The first text/html body, transfer encoding and charset decoded.
    pub html: Option<String>,
    /// The message as the client sent it (without the envelope lines the sink puts in front).
    pub raw: String,
}

impl ReceivedMail {
    /// Parses one file the sink wrote (also those of `make up` in `.run/mail/`): its
    /// `X-Envelope-From` line, its `X-Envelope-To` lines, then the message. `None` for anything
    /// else. A message whose own first header is `X-Envelope-To` would lose it to the envelope.
    pub fn parse(file: &[u8]) -> Option<Self> {
        let mut envelope_from = None;
        let mut envelope_to = Vec::new();
        let mut offset = 0;
        while let Some(length) = file[offset..].windows(2).position(|pair| pair == b"\r\n") {
            let Ok(line) = std::str::from_utf8(&file[offset..offset + length]) else {
                break;
            };
            if envelope_from.is_none() {
                envelope_from = Some(line.strip_prefix("X-Envelope-From: ")?.to_owned());
            } else if let Some(recipient) = line.strip_prefix("X-Envelope-To: ") {
                envelope_to.push(recipient.to_owned());
            } else {
                break;
            }
            offset += length + 2;
        }
        let envelope_from = envelope_from?;
        let body = &file[offset..];
        let message = MessageParser::default().parse(body)?;
        let headers = message
            .headers_raw()
            // Unfolding removes each line break before the whitespace that continues a field.
            .map(|(name, value)| {
                (
                    name.to_owned(),
                    value.replace(['\r', '\n'], "").trim().to_owned(),
                )
            })
            .collect();
        let text = message.text_bodies().find_map(|part| match &part.body {
            PartType::Text(text) => Some(text.to_string()),
            _ => None,
        });
        let html = message.html_bodies().find_map(|part| match &part.body {
            PartType::Html(html) => Some(html.to_string()),
            _ => None,
        });
        Some(Self {
            envelope_from,
            envelope_to,
            headers,
            subject: message.subject().map(str::to_owned),
            text,
            html,
            raw: String::from_utf8_lossy(body).into_owned(),
        })
    }

    /// The value of the first header field called `name` (in any case), unfolded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Runs the sink on `port` (0: any free one) and waits until it listens; gives its child and
/// port, or what it printed when it did not come up.
async fn spawn(port: u16, dir: &Path) -> Result<(Child, u16), String> {
    // This crate is services/shared/testkit; the script is the repository's.
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(3)
        .expect("testkit sits three folders below the repository root")
        .join("scripts/smtp-sink.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot run python3 {}: {error}", script.display()))?;
    let output = Arc::new(Mutex::new(Vec::new()));
    let (listening, bound) = oneshot::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Both keep reading for as long as the sink runs, so that it never blocks on a full pipe.
    let readers = [
        tokio::spawn(collect(stdout, Arc::clone(&output), Some(listening))),
        tokio::spawn(collect(stderr, Arc::clone(&output), None)),
    ];
    // The sender is dropped unused when the sink exits first: no need to wait out PATIENCE.
    if let Ok(Ok(port)) = tokio::time::timeout(PATIENCE, bound).await {
        return Ok((child, port));
    }
    let _ = child.start_kill();
    for reader in readers {
        // Ends at the end of the output, which the exit brings; everything said is collected.
        let _ = tokio::time::timeout(PATIENCE, reader).await;
    }
    let output = output.lock().expect("output lock").join("\n");
    Err(output)
}

async fn collect(
    reader: impl AsyncRead + Unpin,
    output: Arc<Mutex<Vec<String>>>,
    mut on_listening: Option<oneshot::Sender<u16>>,
) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(port) = listening_port(&line) {
            if let Some(tx) = on_listening.take() {
                let _ = tx.send(port);
            }
        }
        output.lock().expect("output lock").push(line);
    }
}

/// The port in `smtp-sink: listening on <host>:<port>, writing to <dir>`.
fn listening_port(line: &str) -> Option<u16> {
    let address = line.strip_prefix(LISTENING)?.split(',').next()?;
    address.rsplit(':').next()?.parse().ok()
}
