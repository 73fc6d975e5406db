//! An in-memory, stateful fake of the Kubernetes API server.
//!
//! [`FakeApiServer::client`] hands out a real [`kube::Client`] whose transport is a
//! `tower::service_fn` answering from a map of JSON objects, so code under test runs its real
//! `kube::Api` calls (get, list, create, replace, the four patch kinds, delete, status
//! subresources) without a cluster. Tests then inspect the stored objects ([`FakeApiServer::get`],
//! [`FakeApiServer::list`]) and the requests received ([`FakeApiServer::requests`],
//! [`FakeApiServer::writes`]), and play the other controllers ([`FakeApiServer::merge`], e.g. a
//! Deployment's `.status`).
//!
//! Semantics are deliberately simple: server-side apply is a JSON merge of the applied body into
//! the stored object (one field manager), a strategic merge patch is a JSON merge patch, and
//! nothing is validated against a schema. Watches stream every change after the resource version
//! they start from (list, then watch, as kube's watcher does), until their `timeoutSeconds`.
//!
//! [`FakeApiServer::serve_tls`] serves the same state over HTTPS (see `tls.rs`), for the real
//! operator binary to reach with a kubeconfig.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the fake"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use k8s_openapi::jiff::{Timestamp, Unit};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::ssa;

/// The body of every answer: whole JSON, or a watch's stream of events.
pub type ResponseBody = BoxBody<Bytes, Infallible>;

/// The header naming an in-process client that is not the operator.
const IDENTITY: &str = "x-fake-identity";
/// Its value for [`FakeApiServer::admin_client`].
const ADMIN: &str = "admin";

/// How long a watch stays open when the client does not say (`timeoutSeconds`).
const WATCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Kinds whose plural is not simply the lowercased kind plus `s`, plus common kinds so that
/// list responses get the right `kind` for an empty collection.
const KINDS: &[(&str, &str)] = &[
    ("Ingress", "ingresses"),
    ("HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    ("PodDisruptionBudget", "poddisruptionbudgets"),
    ("Microshop", "microshops"),
    ("Endpoints", "endpoints"),
    ("NetworkPolicy", "networkpolicies"),
    ("ConfigMap", "configmaps"),
    ("Deployment", "deployments"),
    ("Event", "events"),
    ("Namespace", "namespaces"),
    ("Pod", "pods"),
    ("Secret", "secrets"),
    ("Service", "services"),
    ("ServiceAccount", "serviceaccounts"),
    ("StatefulSet", "statefulsets"),
];

/// Kinds that live outside namespaces: [`FakeApiServer::insert`] stores them under namespace `""`.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Node",
    "PersistentVolume",
    "StorageClass",
];

/// (plural, namespace — `""` when cluster-scoped, name).
type Key = (String, String, String);

/// One request the fake received, as [`FakeApiServer::requests`] returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The HTTP method, e.g. `"PATCH"`.
    pub method: String,
    /// The URL path, e.g. `/apis/apps/v1/namespaces/default/deployments/shop-user`.
    pub path: String,
    /// The raw (still percent-encoded) query string, `""` when there is none.
    pub query: String,
    /// The `Content-Type` header, if any (tells the patch kinds apart).
    pub content_type: Option<String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Accept` header, if any (metadata-only requests ask for `PartialObjectMetadata`).
    pub accept: Option<String>,
    /// The body parsed as JSON; `None` when empty or not JSON.
    pub body: Option<Value>,
    /// The resource's plural from the path (`""` when the path was not understood).
    pub plural: String,
    /// The namespace from the path; `None` for cluster-wide requests.
    pub namespace: Option<String>,
    /// The object's name from the path; `None` for collection requests (list, create).
    pub name: Option<String>,
    /// The subresource from the path, e.g. `status`.
    pub subresource: Option<String>,
}

/// An in-memory Kubernetes API server; cheap to share (all handles and clients see one state).
#[derive(Clone)]
pub struct FakeApiServer {
    state: Arc<Mutex<State>>,
    /// The resource version of the last change, for watches to wait on.
    changed: watch::Receiver<u64>,
}

impl Default for FakeApiServer {
    fn default() -> Self {
        let (changed_tx, changed) = watch::channel(0);
        Self {
            state: Arc::new(Mutex::new(State {
                objects: BTreeMap::new(),
                resource_version: 0,
                requests: Vec::new(),
                failures: Vec::new(),
                log: Vec::new(),
                changed: changed_tx,
                calls: BTreeSet::new(),
                allowed: allowed_calls(),
                acting_as_admin: false,
            })),
            changed,
        }
    }
}

struct State {
    objects: BTreeMap<Key, Value>,
    /// The last resource version handed out; bumped on every write.
    resource_version: u64,
    requests: Vec<Recorded>,
    failures: Vec<Failure>,
    /// Every change, in order, for watches.
    log: Vec<Change>,
    changed: watch::Sender<u64>,
    /// Every (API group, resource, verb) an authorizer saw, as RBAC names them.
    calls: BTreeSet<Call>,
    /// The calls `operator/tests/rbac/api-calls.txt` allows; `None` while recording it anew.
    allowed: Option<BTreeSet<Call>>,
    /// Whether the request being handled comes from [`FakeApiServer::admin_client`].
    acting_as_admin: bool,
}

/// (API group, `""` for core; resource, with `/subresource`; verb), as RBAC rules name them.
pub type Call = (String, String, String);

/// The file of the calls the operator makes, which the chart's RBAC rules must grant exactly.
pub const API_CALLS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rbac/api-calls.txt");

/// The calls the committed file allows, unless `MICROSHOP_API_CALLS_UPDATE` is set (then every
/// call is allowed and recorded, for `make rbac-calls` to write the file anew).
fn allowed_calls() -> Option<BTreeSet<Call>> {
    if std::env::var_os("MICROSHOP_API_CALLS_UPDATE").is_some() {
        return None;
    }
    let text = std::fs::read_to_string(API_CALLS_FILE).unwrap_or_default();
    Some(parse_calls(&text))
}

/// Lines of `group resource verb` (`core` for the core group); `#` starts a comment.
pub fn parse_calls(text: &str) -> BTreeSet<Call> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (group, resource, verb) = (words.next()?, words.next()?, words.next()?);
            let group = if group == "core" { "" } else { group };
            Some((group.to_owned(), resource.to_owned(), verb.to_owned()))
        })
        .collect()
}

impl Drop for State {
    /// With `MICROSHOP_API_CALLS_DIR` set, leaves this server's calls in a file there: the union
    /// over a test run is what the operator needs (`make rbac-calls`, tests/k8s).
    fn drop(&mut self) {
        let Some(dir) = std::env::var_os("MICROSHOP_API_CALLS_DIR") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        let mut lines = String::new();
        for (group, resource, verb) in &self.calls {
            let group = if group.is_empty() { "core" } else { group };
            let _ = writeln!(lines, "{group} {resource} {verb}");
        }
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{}.txt", uuid::Uuid::new_v4())), lines);
    }
}

/// One change as a watch reports it.
struct Change {
    version: u64,
    key: Key,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    kind: &'static str,
    object: Value,
}

/// An error to answer the next matching request with ([`FakeApiServer::fail_next`]).
struct Failure {
    method: String,
    plural: String,
    code: u16,
}

/// Where a request points.
#[derive(Clone)]
struct Route {
    /// `v1`, `apps/v1`, `microshop.dev/v1alpha1`.
    api_version: String,
    /// `""` for the core group.
    group: String,
    plural: String,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

impl Route {
    fn key(&self, name: &str) -> Key {
        (
            self.plural.clone(),
            self.namespace.clone().unwrap_or_default(),
            name.to_owned(),
        )
    }

    /// Custom resources have a status subresource: writes to the main resource leave `.status`
    /// alone. Built-in groups are either dotless (`apps`, `policy`) or end in `.k8s.io`.
    fn is_custom(&self) -> bool {
        self.group.contains('.') && !self.group.ends_with(".k8s.io")
    }
}

/// What the fake answers.
enum Reply {
    Json(StatusCode, Value),
    Empty(StatusCode),
    /// A watch: stream the changes after `since` that `route` and `selector` select.
    Watch {
        route: Route,
        selector: Option<String>,
        since: u64,
        timeout: Duration,
    },
}

impl FakeApiServer {
    /// An empty API server.
    pub fn new() -> Self {
        Self::default()
    }

    /// A [`kube::Client`] talking to this fake as the operator (default namespace
    /// `"default"`): its calls are recorded and held to `operator/tests/rbac/api-calls.txt`, as
    /// the chart's RBAC rules hold the real operator to them.
    ///
    /// Must be called inside a Tokio runtime (the client spawns its request buffer).
    pub fn client(&self) -> kube::Client {
        self.client_as(None)
    }

    /// A [`kube::Client`] for what the tests do as a cluster admin or another controller
    /// (editing a Microshop, deleting a Secret): neither recorded nor restricted.
    pub fn admin_client(&self) -> kube::Client {
        self.client_as(Some(ADMIN))
    }

    fn client_as(&self, identity: Option<&'static str>) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |mut request: Request<kube::client::Body>| {
            let fake = fake.clone();
            if let Some(identity) = identity {
                request
                    .headers_mut()
                    .insert(IDENTITY, http::HeaderValue::from_static(identity));
            }
            async move { Ok::<_, Infallible>(fake.serve(request).await) }
        });
        kube::Client::new(service, "default")
    }

    /// Answers one HTTP request, whatever carries it (the in-process client, or HTTPS).
    pub async fn serve<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let (parts, body) = request.into_parts();
        // `kube`'s metadata watches ask for `application/json;as=PartialObjectMetadataList;...`.
        let metadata_only = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("as=PartialObjectMetadata"));
        let reply = match body.collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                let body = if bytes.is_empty() {
                    None
                } else {
                    serde_json::from_slice(&bytes).ok()
                };
                let header = |name| {
                    parts
                        .headers
                        .get(name)
                        .and_then(|value: &http::HeaderValue| value.to_str().ok())
                        .map(str::to_owned)
                };
                let content_type = header(http::header::CONTENT_TYPE);
                let authorization = header(http::header::AUTHORIZATION);
                let accept = header(http::header::ACCEPT);
                let admin = header(http::header::HeaderName::from_static(IDENTITY)).as_deref()
                    == Some(ADMIN);
                let path = parts.uri.path();
                let query = parts.uri.query().unwrap_or_default();
                self.lock().handle(
                    &parts.method,
                    path,
                    query,
                    [content_type, authorization, accept],
                    body,
                    admin,
                )
            }
            Err(error) => failure(400, &format!("reading the request body: {error}")),
        };
        let (code, body) = match reply {
            Reply::Json(code, mut value) => {
                if metadata_only && code.is_success() {
                    value = metadata_of(&value);
                }
                (
                    code,
                    full(serde_json::to_vec(&value).expect("a JSON value serializes")),
                )
            }
            Reply::Empty(code) => (code, full(Vec::new())),
            Reply::Watch {
                route,
                selector,
                since,
                timeout,
            } => (
                StatusCode::OK,
                self.watch(route, selector, since, timeout, metadata_only),
            ),
        };
        Response::builder()
            .status(code)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .expect("a status, a static header and a body make a valid response")
    }

    /// The stream of a watch: each batch of changes as JSON lines, until `timeout`.
    fn watch(
        &self,
        route: Route,
        selector: Option<String>,
        since: u64,
        timeout: Duration,
        metadata_only: bool,
    ) -> ResponseBody {
        let deadline = tokio::time::Instant::now() + timeout;
        let start = (self.clone(), self.changed.clone(), since);
        let events = futures::stream::unfold(start, move |(fake, mut changed, since)| {
            let (route, selector) = (route.clone(), selector.clone());
            async move {
                loop {
                    let (lines, latest) =
                        fake.lock()
                            .changes(&route, selector.as_deref(), since, metadata_only);
                    if !lines.is_empty() {
                        let frame = Ok::<_, Infallible>(Frame::data(Bytes::from(lines)));
                        return Some((frame, (fake, changed, latest)));
                    }
                    tokio::select! {
                        result = changed.changed() => if result.is_err() { return None; },
                        () = tokio::time::sleep_until(deadline) => return None,
                    }
                }
            }
        });
        BodyExt::boxed(StreamBody::new(events))
    }

    /// Stores an object as if created (`metadata.uid`, `resourceVersion`, `creationTimestamp`
    /// and `generation` = 1 filled in if absent), replacing any stored one. Key: the plural
    /// derived from its `kind`, its namespace (`"default"` when absent, `""` for cluster-scoped
    /// kinds) and its name.
    ///
    /// # Panics
    ///
    /// If the object has no `kind` or no `metadata.name`.
    pub fn insert(&self, mut object: Value) {
        let kind = object["kind"]
            .as_str()
            .expect("insert: the object needs a kind")
            .to_owned();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .expect("insert: the object needs metadata.name")
            .to_owned();
        let namespace = if CLUSTER_SCOPED.contains(&kind.as_str()) {
            String::new()
        } else {
            let namespace = object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_owned();
            metadata(&mut object).insert("namespace".into(), Value::String(namespace.clone()));
            namespace
        };
        let mut state = self.lock();
        let version = state.next_version();
        let meta = metadata(&mut object);
        meta.entry("uid")
            .or_insert_with(|| Value::String(uuid::Uuid::new_v4().to_string()));
        meta.entry("resourceVersion")
            .or_insert_with(|| Value::String(version));
        meta.entry("creationTimestamp")
            .or_insert_with(|| Value::String(now()));
        meta.entry("generation").or_insert_with(|| json!(1));
        let key = (plural_of(&kind), namespace, name);
        let change = if state.objects.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        state.objects.insert(key.clone(), object.clone());
        state.record(change, key, object);
    }

    /// The stored object, by plural resource name (e.g. `"deployments"`, `"secrets"`,
    /// `"microshops"`), namespace (`""` for cluster-scoped objects) and name.
    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&(plural.to_owned(), namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Every stored object of a plural in a namespace, sorted by name.
    pub fn list(&self, plural: &str, namespace: &str) -> Vec<Value> {
        self.lock()
            .objects
            .iter()
            .filter(|((p, ns, _), _)| p == plural && ns == namespace)
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Replaces part of a stored object (e.g. to set a Deployment's `.status` as its controller
    /// would): RFC 7386 merge of `patch` into it, bypassing the API (no generation bump, no
    /// request recorded); watches see the change under a new resource version.
    ///
    /// # Panics
    ///
    /// If there is no such object.
    pub fn merge(&self, plural: &str, namespace: &str, name: &str, patch: Value) {
        let mut state = self.lock();
        let version = state.next_version();
        let key = (plural.to_owned(), namespace.to_owned(), name.to_owned());
        let object = state
            .objects
            .get_mut(&key)
            .unwrap_or_else(|| panic!("merge: no {plural} {namespace}/{name} stored"));
        merge_patch(object, patch);
        metadata(object).insert("resourceVersion".into(), Value::String(version));
        let object = object.clone();
        state.record("MODIFIED", key, object);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Every (API group, resource, verb) called so far, as RBAC names them.
    pub fn api_calls(&self) -> BTreeSet<Call> {
        self.lock().calls.clone()
    }

    /// Every stored version of an object, oldest first (deletions included, as the object was
    /// last seen).
    pub fn history(&self, plural: &str, namespace: &str, name: &str) -> Vec<Value> {
        self.lock()
            .log
            .iter()
            .filter(|c| c.key.0 == plural && c.key.1 == namespace && c.key.2 == name)
            .map(|c| c.object.clone())
            .collect()
    }

    /// The resource version of the last change: pass it to [`FakeApiServer::changes_since`].
    pub fn version(&self) -> u64 {
        self.lock().resource_version
    }

    /// The changes after resource version `since`, as `"TYPE plural/name"` strings, e.g.
    /// `"MODIFIED deployments/shop-user"`: what was actually written, unlike
    /// [`FakeApiServer::writes`], which lists requests (a no-op apply is a request, not a change).
    pub fn changes_since(&self, since: u64) -> Vec<String> {
        self.lock()
            .log
            .iter()
            .filter(|c| c.version > since)
            .map(|c| format!("{} {}/{}", c.kind, c.key.0, c.key.2))
            .collect()
    }

    /// Answers `verb` on `resource` (e.g. `"microshops"`, `"list"`) of `group` with 403 from now
    /// on, as an API server whose RBAC rules lack it.
    pub fn deny(&self, group: &str, resource: &str, verb: &str) {
        let mut state = self.lock();
        let allowed = state.allowed.get_or_insert_with(|| {
            parse_calls(&std::fs::read_to_string(API_CALLS_FILE).unwrap_or_default())
        });
        allowed.remove(&(group.to_owned(), resource.to_owned(), verb.to_owned()));
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Requests that change something (POST, PUT, PATCH, DELETE), as
    /// `"METHOD plural/name[/subresource]"` strings, e.g. `"PATCH deployments/shop-user"`,
    /// `"PATCH microshops/shop/status"`, `"POST events/"`. Requests failed by
    /// [`FakeApiServer::fail_next`] are included.
    pub fn writes(&self) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
            .map(|r| {
                let mut line = format!(
                    "{} {}/{}",
                    r.method,
                    r.plural,
                    r.name.as_deref().unwrap_or_default()
                );
                if let Some(subresource) = &r.subresource {
                    line.push('/');
                    line.push_str(subresource);
                }
                line
            })
            .collect()
    }

    /// Makes the next request with this method (e.g. `"PATCH"`, case-insensitive) on this
    /// plural answer with an error `Status` of this HTTP code (e.g. 409, 500) instead of being
    /// served. Several calls queue several failures.
    pub fn fail_next(&self, method: &str, plural: &str, code: u16) {
        self.lock().failures.push(Failure {
            method: method.to_ascii_uppercase(),
            plural: plural.to_owned(),
            code,
        });
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock must not hide the state from the others.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn full(bytes: Vec<u8>) -> ResponseBody {
    BodyExt::boxed(Full::new(Bytes::from(bytes)))
}

impl State {
    fn next_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// Records a change at the current resource version and wakes the watches.
    fn record(&mut self, kind: &'static str, key: Key, object: Value) {
        self.log.push(Change {
            version: self.resource_version,
            key,
            kind,
            object,
        });
        self.changed.send_replace(self.resource_version);
    }

    /// The changes after `since` that a watch of `route` with `selector` sees, as JSON lines,
    /// and the resource version they bring it to.
    fn changes(
        &self,
        route: &Route,
        selector: Option<&str>,
        since: u64,
        metadata_only: bool,
    ) -> (Vec<u8>, u64) {
        let mut lines = Vec::new();
        let mut latest = since;
        for change in self.log.iter().filter(|c| c.version > since) {
            latest = change.version;
            let (plural, namespace, _) = &change.key;
            let selected = *plural == route.plural
                && route.namespace.as_ref().is_none_or(|ns| ns == namespace)
                && selector.is_none_or(|s| matches_labels(s, &change.object));
            if selected {
                let object = if metadata_only {
                    metadata_of(&change.object)
                } else {
                    change.object.clone()
                };
                let event = json!({"type": change.kind, "object": object});
                serde_json::to_writer(&mut lines, &event).expect("an event serializes");
                lines.push(b'\n');
            }
        }
        (lines, latest)
    }

    /// Records the request, then serves it (or fails it as [`FakeApiServer::fail_next`] asked).
    fn handle(
        &mut self,
        method: &Method,
        path: &str,
        query: &str,
        [content_type, authorization, accept]: [Option<String>; 3],
        body: Option<Value>,
        admin: bool,
    ) -> Reply {
        let route = parse_path(path);
        // `application/merge-patch+json; charset=utf-8` → `application/merge-patch+json`.
        let media_type = content_type
            .as_deref()
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_owned();
        self.requests.push(Recorded {
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            content_type,
            authorization,
            accept,
            body: body.clone(),
            plural: route.as_ref().map(|r| r.plural.clone()).unwrap_or_default(),
            namespace: route.as_ref().and_then(|r| r.namespace.clone()),
            name: route.as_ref().and_then(|r| r.name.clone()),
            subresource: route.as_ref().and_then(|r| r.subresource.clone()),
        });
        let Some(route) = route else {
            return failure(404, &format!("the fake API server has no route for {path}"));
        };
        let params = query_params(query);
        let watch = params.get("watch").is_some_and(|w| w == "true" || w == "1");
        let verb = match (method, &route.name) {
            (&Method::GET, Some(_)) => "get",
            (&Method::GET, None) if watch => "watch",
            (&Method::GET, None) => "list",
            (&Method::POST, _) => "create",
            (&Method::PUT, _) => "update",
            (&Method::PATCH, _) => "patch",
            (&Method::DELETE, Some(_)) => "delete",
            (&Method::DELETE, None) => "deletecollection",
            _ => "",
        };
        self.acting_as_admin = admin;
        if let Some(denied) = self.authorize(&route, verb) {
            return denied;
        }
        if let Some(index) = self
            .failures
            .iter()
            .position(|f| f.method == method.as_str() && f.plural == route.plural)
        {
            let injected = self.failures.remove(index);
            return failure(
                injected.code,
                &format!("injected failure for {method} {}", route.plural),
            );
        }
        let selector = params.get("labelSelector").map(String::as_str);
        match (method, &route.name) {
            (&Method::GET, Some(name)) => self.get_object(&route, name),
            (&Method::GET, None) => {
                if watch {
                    Reply::Watch {
                        since: params
                            .get("resourceVersion")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0),
                        timeout: params
                            .get("timeoutSeconds")
                            .and_then(|v| v.parse().ok())
                            .map_or(WATCH_TIMEOUT, Duration::from_secs),
                        selector: selector.map(str::to_owned),
                        route,
                    }
                } else {
                    self.list_objects(&route, selector)
                }
            }
            (&Method::POST, None) => self.create(&route, body),
            (&Method::PUT, Some(name)) => self.replace(&route, name, body, &params),
            (&Method::PATCH, Some(name)) => self.patch(&route, name, &media_type, body, &params),
            (&Method::DELETE, Some(name)) => self.delete(&route, name),
            (&Method::DELETE, None) => self.delete_collection(&route, selector),
            _ => failure(405, &format!("{method} is not supported on {path}")),
        }
    }

    /// Records the call as RBAC sees it; a 403, as an API server with the chart's rules would
    /// answer, when `operator/tests/rbac/api-calls.txt` does not list it.
    fn authorize(&mut self, route: &Route, verb: &str) -> Option<Reply> {
        let resource = match &route.subresource {
            Some(subresource) => format!("{}/{subresource}", route.plural),
            None => route.plural.clone(),
        };
        self.authorize_call((route.group.clone(), resource, verb.to_owned()))
    }

    fn authorize_call(&mut self, call: Call) -> Option<Reply> {
        if self.acting_as_admin {
            return None;
        }
        self.calls.insert(call.clone());
        let allowed = self.allowed.as_ref()?;
        if allowed.contains(&call) {
            return None;
        }
        let (group, resource, verb) = call;
        Some(failure(
            403,
            &format!(
                "{verb} {resource} (group {group:?}) is not in operator/tests/rbac/api-calls.txt: \
                 if the operator is meant to make this call, run `make rbac-calls` and grant it in \
                 charts/microshop-operator/templates/rbac.yaml"
            ),
        ))
    }

    /// An owner reference that blocks its owner's deletion needs `update` on the owner's
    /// `finalizers` subresource (the `OwnerReferencesPermissionEnforcement` admission plugin).
    fn check_owner_references(&mut self, object: &Value) -> Option<Reply> {
        let references = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        references
            .iter()
            .filter(|r| r["blockOwnerDeletion"] == true)
            .find_map(|reference| {
                let api_version = reference["apiVersion"].as_str().unwrap_or_default();
                let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
                let kind = reference["kind"].as_str().unwrap_or_default();
                let resource = format!("{}/finalizers", plural_of(kind));
                self.authorize_call((group.to_owned(), resource, "update".to_owned()))
            })
    }

    fn get_object(&self, route: &Route, name: &str) -> Reply {
        match self.objects.get(&route.key(name)) {
            Some(object) => Reply::Json(StatusCode::OK, object.clone()),
            None => not_found(route, name),
        }
    }

    /// Keys of the objects a collection request selects, in (namespace, name) order.
    fn select(&self, route: &Route, selector: Option<&str>) -> Vec<Key> {
        self.objects
            .iter()
            .filter(|((plural, namespace, _), object)| {
                *plural == route.plural
                    && route.namespace.as_ref().is_none_or(|ns| ns == namespace)
                    && selector.is_none_or(|s| matches_labels(s, object))
            })
            .map(|(key, _)| key.clone())
            .collect()
    }

    fn list_objects(&self, route: &Route, selector: Option<&str>) -> Reply {
        let items: Vec<Value> = self
            .select(route, selector)
            .iter()
            .filter_map(|key| self.objects.get(key).cloned())
            .collect();
        Reply::Json(StatusCode::OK, self.list_body(route, items))
    }

    fn list_body(&self, route: &Route, items: Vec<Value>) -> Value {
        let mut body = json!({
            "apiVersion": route.api_version,
            "kind": format!("{}List", self.kind_of(&route.plural)),
            "metadata": { "resourceVersion": self.resource_version.to_string() },
        });
        body["items"] = Value::Array(items);
        body
    }

    /// The kind for a plural: the table, else any stored object's, else a guess.
    fn kind_of(&self, plural: &str) -> String {
        if let Some((kind, _)) = KINDS.iter().find(|(_, p)| *p == plural) {
            return (*kind).to_owned();
        }
        let stored = self
            .objects
            .iter()
            .find(|((p, _, _), _)| p == plural)
            .and_then(|(_, object)| object["kind"].as_str());
        if let Some(kind) = stored {
            return kind.to_owned();
        }
        let singular = plural.strip_suffix('s').unwrap_or(plural);
        let mut chars = singular.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_ascii_uppercase().to_string() + chars.as_str()
        })
    }

    fn create(&mut self, route: &Route, body: Option<Value>) -> Reply {
        let Some(mut object) = body.filter(Value::is_object) else {
            return failure(400, "the request body must be a JSON object");
        };
        let meta = metadata(&mut object);
        let name = match (meta.get("name"), meta.get("generateName")) {
            (Some(Value::String(name)), _) if !name.is_empty() => name.clone(),
            (_, Some(Value::String(prefix))) => format!("{prefix}{}", random_suffix()),
            _ => {
                return status(
                    422,
                    "Invalid",
                    "metadata.name or metadata.generateName is required",
                    None,
                );
            }
        };
        let key = route.key(&name);
        if self.objects.contains_key(&key) {
            return status(
                409,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", route.plural),
                Some((route, &name)),
            );
        }
        if let Some(denied) = self.check_owner_references(&object) {
            return denied;
        }
        let object = self.store_new(route, key, object);
        Reply::Json(StatusCode::CREATED, object)
    }

    /// Stores a new object under `key`, filling in what the API server owns; returns it.
    fn store_new(&mut self, route: &Route, key: Key, mut object: Value) -> Value {
        if route.is_custom() {
            if let Some(fields) = object.as_object_mut() {
                fields.remove("status");
            }
        }
        set_type_meta(
            &mut object,
            &route.api_version,
            &self.kind_of(&route.plural),
        );
        let version = self.next_version();
        let meta = metadata(&mut object);
        meta.insert("name".into(), Value::String(key.2.clone()));
        if !key.1.is_empty() {
            meta.insert("namespace".into(), Value::String(key.1.clone()));
        }
        meta.insert(
            "uid".into(),
            Value::String(uuid::Uuid::new_v4().to_string()),
        );
        meta.insert("resourceVersion".into(), Value::String(version));
        meta.insert("creationTimestamp".into(), Value::String(now()));
        meta.insert("generation".into(), json!(1));
        meta.remove("deletionTimestamp");
        default_fields(&route.plural, &mut object);
        self.objects.insert(key.clone(), object.clone());
        self.record("ADDED", key, object.clone());
        object
    }

    fn replace(
        &mut self,
        route: &Route,
        name: &str,
        body: Option<Value>,
        params: &BTreeMap<String, String>,
    ) -> Reply {
        let Some(body) = body.filter(Value::is_object) else {
            return failure(400, "the request body must be a JSON object");
        };
        let key = route.key(name);
        let Some(old) = self.objects.get(&key).cloned() else {
            return not_found(route, name);
        };
        let sent = body.pointer("/metadata/resourceVersion");
        if sent.is_some() && sent != old.pointer("/metadata/resourceVersion") {
            return status(
                409,
                "Conflict",
                &format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been \
                     modified; please apply your changes to the latest version and try again",
                    route.plural
                ),
                Some((route, name)),
            );
        }
        let mut new = body;
        ssa::update(&old, &mut new, manager(params), &now());
        self.write(route, key, &old, new)
    }

    fn patch(
        &mut self,
        route: &Route,
        name: &str,
        media_type: &str,
        body: Option<Value>,
        params: &BTreeMap<String, String>,
    ) -> Reply {
        let Some(body) = body else {
            return failure(400, "the patch body must be JSON");
        };
        let key = route.key(name);
        let old = self.objects.get(&key).cloned();
        if media_type == "application/apply-patch+yaml" {
            return self.apply(route, key, old, &body, params);
        }
        match media_type {
            "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                let Some(old) = old else {
                    return not_found(route, name);
                };
                let mut new = old.clone();
                merge_patch(&mut new, body);
                ssa::update(&old, &mut new, manager(params), &now());
                self.write(route, key, &old, new)
            }
            "application/json-patch+json" => {
                let Some(old) = old else {
                    return not_found(route, name);
                };
                let operations: json_patch::Patch = match serde_json::from_value(body) {
                    Ok(operations) => operations,
                    Err(error) => return failure(400, &format!("invalid JSON patch: {error}")),
                };
                let mut new = old.clone();
                // As the API server's JSON patch library does, a `test` for `null` passes when
                // the path does not exist (kube's finalizer helper relies on it).
                let operations = json_patch::Patch(
                    operations
                        .0
                        .into_iter()
                        .filter(|operation| match operation {
                            json_patch::PatchOperation::Test(test) => {
                                !(test.value.is_null() && new.pointer(test.path.as_str()).is_none())
                            }
                            _ => true,
                        })
                        .collect(),
                );
                if let Err(error) = json_patch::patch(&mut new, &operations) {
                    return status(
                        422,
                        "Invalid",
                        &format!("the JSON patch could not be applied: {error}"),
                        Some((route, name)),
                    );
                }
                ssa::update(&old, &mut new, manager(params), &now());
                self.write(route, key, &old, new)
            }
            other => failure(415, &format!("unsupported patch content type {other:?}")),
        }
    }

    /// A server-side apply (see `ssa.rs`).
    fn apply(
        &mut self,
        route: &Route,
        key: Key,
        old: Option<Value>,
        body: &Value,
        params: &BTreeMap<String, String>,
    ) -> Reply {
        if route.subresource.is_some() || !body.is_object() {
            return failure(
                400,
                "server-side apply takes a whole object of the resource",
            );
        }
        let Some(manager) = params.get("fieldManager") else {
            return failure(422, "server-side apply needs a fieldManager");
        };
        let force = params.get("force").is_some_and(|f| f == "true");
        match ssa::apply(old.as_ref(), body, manager, force, &now()) {
            Ok(new) => match old {
                None => {
                    if let Some(denied) = self
                        .authorize(route, "create")
                        .or_else(|| self.check_owner_references(&new))
                    {
                        return denied;
                    }
                    Reply::Json(StatusCode::CREATED, self.store_new(route, key, new))
                }
                Some(old) => self.write(route, key, &old, new),
            },
            Err(conflicts) => {
                let fields: Vec<String> = conflicts
                    .iter()
                    .map(|c| format!("{} (owned by {:?})", c.path.join("."), c.manager))
                    .collect();
                status(
                    409,
                    "Conflict",
                    &format!(
                        "Apply failed with {} conflicts: {}",
                        fields.len(),
                        fields.join(", ")
                    ),
                    Some((route, &key.2)),
                )
            }
        }
    }

    /// Stores the result of a PUT or PATCH: keeps what clients cannot change, honours the
    /// status subresource, fills in defaults, writes nothing when nothing changed, bumps
    /// generation on spec change and the resource version on every write, and completes
    /// finalization.
    fn write(&mut self, route: &Route, key: Key, old: &Value, mut new: Value) -> Reply {
        if !new.is_object() {
            return status(
                422,
                "Invalid",
                "the result is not an object",
                Some((route, &key.2)),
            );
        }
        if route.subresource.is_some() {
            // Only the subresource (status) of the result counts.
            let new_status = new.get("status").cloned();
            new = old.clone();
            set_or_remove(&mut new, "status", new_status);
        } else if route.is_custom() {
            set_or_remove(&mut new, "status", old.get("status").cloned());
        }
        for field in ["apiVersion", "kind"] {
            if new.get(field).is_none() {
                set_or_remove(&mut new, field, old.get(field).cloned());
            }
        }
        default_fields(&route.plural, &mut new);
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let generation = if new.get("spec") == old.get("spec") {
            generation
        } else {
            generation + 1
        };
        let meta = metadata(&mut new);
        meta.insert("name".into(), Value::String(key.2.clone()));
        if !key.1.is_empty() {
            meta.insert("namespace".into(), Value::String(key.1.clone()));
        }
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "resourceVersion",
        ] {
            match old.pointer(&format!("/metadata/{field}")) {
                Some(value) => meta.insert(field.into(), value.clone()),
                None => meta.remove(field),
            };
        }
        meta.insert("generation".into(), json!(generation));
        if new == *old {
            // Nothing changed: nothing is written, no watch event, the same resource version.
            return Reply::Json(StatusCode::OK, new);
        }
        if let Some(denied) = self.check_owner_references(&new) {
            return denied;
        }
        let version = self.next_version();
        let meta = metadata(&mut new);
        meta.insert("resourceVersion".into(), Value::String(version));
        let finalized = meta.contains_key("deletionTimestamp")
            && meta
                .get("finalizers")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
        if finalized {
            self.objects.remove(&key);
            self.record("DELETED", key, new.clone());
        } else {
            self.objects.insert(key.clone(), new.clone());
            self.record("MODIFIED", key, new.clone());
        }
        Reply::Json(StatusCode::OK, new)
    }

    fn delete(&mut self, route: &Route, name: &str) -> Reply {
        match self.delete_key(&route.key(name)) {
            Some(object) => Reply::Json(StatusCode::OK, object),
            None => not_found(route, name),
        }
    }

    fn delete_collection(&mut self, route: &Route, selector: Option<&str>) -> Reply {
        let items: Vec<Value> = self
            .select(route, selector)
            .iter()
            .filter_map(|key| self.delete_key(key))
            .collect();
        Reply::Json(StatusCode::OK, self.list_body(route, items))
    }

    /// Deletes, or marks for deletion when finalizers remain; returns the object as left.
    fn delete_key(&mut self, key: &Key) -> Option<Value> {
        let has_finalizers = self
            .objects
            .get(key)?
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|finalizers| !finalizers.is_empty());
        let version = self.next_version();
        if !has_finalizers {
            let object = self.objects.remove(key)?;
            self.record("DELETED", key.clone(), object.clone());
            return Some(object);
        }
        let object = self.objects.get_mut(key)?;
        let meta = metadata(object);
        meta.entry("deletionTimestamp")
            .or_insert_with(|| Value::String(now()));
        meta.insert("resourceVersion".into(), Value::String(version));
        let object = object.clone();
        self.record("MODIFIED", key.clone(), object.clone());
        Some(object)
    }
}

/// What a metadata-only request gets: `PartialObjectMetadata` (or a list of them), never the
/// objects' contents (a Secret's data).
fn metadata_of(value: &Value) -> Value {
    let partial = |object: &Value| {
        json!({
            "apiVersion": "meta.k8s.io/v1",
            "kind": "PartialObjectMetadata",
            "metadata": object.get("metadata").cloned().unwrap_or_default(),
        })
    };
    match value.get("items").and_then(Value::as_array) {
        Some(items) => json!({
            "apiVersion": "meta.k8s.io/v1",
            "kind": "PartialObjectMetadataList",
            "metadata": value.get("metadata").cloned().unwrap_or_default(),
            "items": items.iter().map(partial).collect::<Vec<_>>(),
        }),
        None => partial(value),
    }
}

/// The field manager a write names (`fieldManager`), as the API server records it.
fn manager(params: &BTreeMap<String, String>) -> &str {
    params.get("fieldManager").map_or("unknown", String::as_str)
}

/// Fields the API server fills in when a write leaves them out.
fn default_fields(plural: &str, object: &mut Value) {
    if plural == "deployments" {
        if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
            spec.entry("replicas").or_insert(json!(1));
        }
    }
}

/// Splits `/api/v1/...` and `/apis/{group}/{version}/...` paths.
fn parse_path(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, api_version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", (*version).to_owned(), rest),
        ["apis", group, version, rest @ ..] => (*group, format!("{group}/{version}"), rest),
        _ => return None,
    };
    let (namespace, plural, name, subresource) = match rest {
        // Namespaces themselves (cluster-scoped) versus objects inside one.
        ["namespaces"] => (None, "namespaces", None, None),
        ["namespaces", name] => (None, "namespaces", Some(*name), None),
        ["namespaces", namespace, plural, tail @ ..] => match tail {
            [] => (Some(*namespace), *plural, None, None),
            [name] => (Some(*namespace), *plural, Some(*name), None),
            [name, sub] => (Some(*namespace), *plural, Some(*name), Some(*sub)),
            _ => return None,
        },
        [plural] => (None, *plural, None, None),
        [plural, name] => (None, *plural, Some(*name), None),
        [plural, name, sub] => (None, *plural, Some(*name), Some(*sub)),
        _ => return None,
    };
    Some(Route {
        api_version,
        group: group.to_owned(),
        plural: plural.to_owned(),
        namespace: namespace.map(percent_decode),
        name: name.map(percent_decode),
        subresource: subresource.map(str::to_owned),
    })
}

/// The query string's parameters, decoded (`application/x-www-form-urlencoded`).
fn query_params(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let decoded = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                if let Some(byte) = decoded {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the object's labels satisfy an equality-based selector (`a=b,c==d,e!=f,g,!h`);
/// set-based terms (`in`, `notin`) are not understood and match everything.
fn matches_labels(selector: &str, object: &Value) -> bool {
    let labels = object.pointer("/metadata/labels");
    let label = |key: &str| {
        labels
            .and_then(|l| l.get(key.trim()))
            .and_then(Value::as_str)
    };
    selector
        .split(',')
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .all(|term| {
            if let Some((key, value)) = term.split_once("!=") {
                label(key) != Some(value.trim())
            } else if let Some((key, value)) =
                term.split_once("==").or_else(|| term.split_once('='))
            {
                label(key) == Some(value.trim())
            } else if term.contains(' ') {
                true
            } else if let Some(key) = term.strip_prefix('!') {
                label(key).is_none()
            } else {
                label(term).is_some()
            }
        })
}

/// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else
/// (arrays included) replaces.
fn merge_patch(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(fields) = target else {
        unreachable!("target was just made an object");
    };
    for (key, value) in patch {
        if value.is_null() {
            fields.remove(&key);
        } else {
            merge_patch(fields.entry(key).or_insert(Value::Null), value);
        }
    }
}

/// The object's `metadata` map, created if missing.
fn metadata(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let fields = object.as_object_mut().expect("just made an object");
    let meta = fields
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("just made an object")
}

fn set_or_remove(object: &mut Value, field: &str, value: Option<Value>) {
    if let Some(fields) = object.as_object_mut() {
        match value {
            Some(value) => fields.insert(field.to_owned(), value),
            None => fields.remove(field),
        };
    }
}

fn set_type_meta(object: &mut Value, api_version: &str, kind: &str) {
    if let Some(fields) = object.as_object_mut() {
        fields
            .entry("apiVersion")
            .or_insert_with(|| Value::String(api_version.to_owned()));
        fields
            .entry("kind")
            .or_insert_with(|| Value::String(kind.to_owned()));
    }
}

/// The resource plural for a kind: the table, else lowercase + `s`.
fn plural_of(kind: &str) -> String {
    KINDS.iter().find(|(k, _)| *k == kind).map_or_else(
        || format!("{}s", kind.to_ascii_lowercase()),
        |(_, plural)| (*plural).to_owned(),
    )
}

/// Now, RFC 3339 UTC with whole seconds, as the API server writes timestamps.
fn now() -> String {
    Timestamp::now()
        .round(Unit::Second)
        .expect("rounding the current time to seconds")
        .to_string()
}

/// Five random lowercase letters, as `metadata.generateName` gets.
fn random_suffix() -> String {
    uuid::Uuid::new_v4().as_bytes()[..5]
        .iter()
        .map(|byte| char::from(b'a' + byte % 26))
        .collect()
}

fn not_found(route: &Route, name: &str) -> Reply {
    status(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", route.plural),
        Some((route, name)),
    )
}

/// An error `Status` whose reason follows from the code.
fn failure(code: u16, message: &str) -> Reply {
    let reason = match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "",
    };
    status(code, reason, message, None)
}

/// A Kubernetes `Status` error response.
fn status(code: u16, reason: &str, message: &str, target: Option<(&Route, &str)>) -> Reply {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some((route, name)) = target {
        body["details"] = json!({ "name": name, "group": route.group, "kind": route.plural });
    }
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Reply::Json(code, body)
}
