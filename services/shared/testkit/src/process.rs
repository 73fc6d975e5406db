//! A service binary running as a real child process, for tests that send it signals. It listens
//! on a free loopback port; its JSON log lines are collected for assertions.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use microshop_events::Topology;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

/// How long a service may take to start or to stop in a test.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running service process; killed when dropped, and then the private topology it declared
/// is deleted (quorum queues hold broker file descriptors until they expire).
pub struct ServiceProcess {
    child: Child,
    addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
    /// Its own topology, unless the test gave it one (the test's, deleted by the test).
    own_topology: Option<Topology>,
}

impl ServiceProcess {
    /// Starts `program` with `envs` (which win over the defaults) on a free port and waits until
    /// it logs `listening`.
    pub async fn spawn(program: &str, envs: &[(&str, &str)]) -> Self {
        Self::spawn_command(program, &[], envs).await
    }

    /// Like [`spawn`](Self::spawn), running `program` with `args` (a wrapper such as `unshare`
    /// that ends by executing the service).
    pub async fn spawn_command(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let prefix = format!("test-{}.", uuid::Uuid::now_v7().simple());
        let mut child = Command::new(program)
            .args(args)
            .env("HTTP_HOST", "127.0.0.1")
            .env("HTTP_PORT", "0")
            .env("LOG_FORMAT", "json")
            // No load balancer to drain: close the listener at once on SIGTERM (unless `envs`
            // says otherwise).
            .env("SHUTDOWN_DRAIN_DELAY_MS", "0")
            // Never touch the shared broker's real queues: a private, self-deleting topology
            // (unless `envs` names one).
            .env("AMQP_TOPOLOGY_PREFIX", &prefix)
            .env("AMQP_TEMPORARY_TOPOLOGY", "true")
            // Its own Redis keys (log-in throttling) too.
            .env("REDIS_KEY_PREFIX", &prefix)
            // The tests' token keys (each service reads the one it needs).
            .envs(crate::auth::env())
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = oneshot::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        tokio::spawn(collect(BufReader::new(stdout), Arc::clone(&logs), Some(tx)));
        tokio::spawn(collect(BufReader::new(stderr), Arc::clone(&logs), None));
        let Ok(Ok(addr)) = tokio::time::timeout(PATIENCE, rx).await else {
            panic!(
                "{program} did not start listening; its output:\n{}",
                logs.lock().expect("log lock").join("\n")
            )
        };
        let named = envs.iter().any(|(name, _)| *name == "AMQP_TOPOLOGY_PREFIX");
        Self {
            child,
            addr,
            logs,
            own_topology: (!named).then(|| Topology::temporary(prefix)),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGTERM, as Kubernetes does when it stops a pod.
    pub fn terminate(&self) {
        let pid = self
            .child
            .id()
            .expect("the process has not been reaped yet");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Kills the process at once (SIGKILL), as a crash or the OOM killer would, and waits for it.
    pub async fn kill(&mut self) {
        self.child
            .kill()
            .await
            .expect("a running child can be killed");
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self) -> ExitStatus {
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the service exits within the test's patience")
            .expect("waiting on a child works")
    }

    /// Every line the process wrote so far (stdout and stderr).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("log lock").clone()
    }
}

async fn collect<R: tokio::io::AsyncBufRead + Unpin>(
    reader: R,
    logs: Arc<Mutex<Vec<String>>>,
    mut on_listening: Option<oneshot::Sender<SocketAddr>>,
) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(addr) = listening_addr(&line) {
            if let Some(tx) = on_listening.take() {
                let _ = tx.send(addr);
            }
        }
        logs.lock().expect("log lock").push(line);
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let value: Value = serde_json::from_str(line).ok()?;
    if value.get("message")?.as_str()? != "listening" {
        return None;
    }
    value.get("addr")?.as_str()?.parse().ok()
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let Some(topology) = self.own_topology.take() else {
            return;
        };
        // Stopped first, so that it cannot declare the topology again once it is deleted.
        let _ = self.child.start_kill();
        crate::broker::delete_now(&crate::amqp_url(), &topology);
    }
}
