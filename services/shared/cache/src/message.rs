//! The pub/sub message of an invalidation: which spaces and keys every process must drop from
//! its in-process layer, or all of them (after the epoch was replaced).

use serde::{Deserialize, Serialize};

use crate::space::Invalidation;

/// What is published on the invalidation channel.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Message {
    /// The cache instance that published it (it applied the message already).
    pub(crate) origin: String,
    /// Drop every entry of every space.
    #[serde(default)]
    pub(crate) flush: bool,
    #[serde(default)]
    pub(crate) targets: Vec<Target>,
}

/// One space's part of a message.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Target {
    pub(crate) space: String,
    /// `None`: the whole space.
    pub(crate) keys: Option<Vec<String>>,
}

impl Message {
    /// The message of an invalidation of `targets`.
    pub(crate) fn targets(origin: &str, targets: &[Invalidation]) -> String {
        Self {
            origin: origin.to_owned(),
            flush: false,
            targets: targets
                .iter()
                .map(|target| Target {
                    space: target.space().to_owned(),
                    keys: target.keys().map(<[String]>::to_vec),
                })
                .collect(),
        }
        .encode()
    }

    /// The message that drops everything.
    pub(crate) fn flush(origin: &str) -> String {
        Self {
            origin: origin.to_owned(),
            flush: true,
            targets: Vec::new(),
        }
        .encode()
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).expect("a message of strings always serializes")
    }
}
