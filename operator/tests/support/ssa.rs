//! The server-side apply semantics the fake API server implements, after the Kubernetes
//! documentation ("Server-Side Apply") and `sigs.k8s.io/structured-merge-diff`:
//!
//! - every field is owned by the field managers that set it (`metadata.managedFields`, in the
//!   `FieldsV1` format: `f:<field>`, `k:<merge key as JSON>`, `v:<value as JSON>`, `.`);
//! - an apply merges the applied object in: maps field by field, lists of objects by their merge
//!   key (containers and env by `name`, ports by port and protocol, ...), lists of scalars that
//!   are sets (`finalizers`) by value, every other list as a whole;
//! - a field another manager owns with a different value is a conflict (409) unless the apply is
//!   forced, which takes the field over;
//! - fields the manager applied before but not now are removed, unless another manager owns them;
//! - an update (a PUT or a non-apply PATCH) gives its manager the fields it changed and takes
//!   them from everyone else, without conflicts;
//! - resource quantities are stored canonically ("0.5" → "500m", "1024Mi" → "1Gi"), so applying
//!   the same values in another spelling changes nothing.
//!
//! Not modelled: per-version schemas (the kinds' merge keys are in [`list_type`]), `status`
//! ownership (status writes are not tracked), and the `x-kubernetes-list-map-keys` of custom
//! resources.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// One path into an object, as `FieldsV1` segments (`f:spec`, `k:{"name":"x"}`, `v:"a"`).
pub type Path = Vec<String>;

/// The fields one manager owns.
pub type FieldSet = BTreeSet<Path>;

/// Who owns what: manager → (operation, fields). Operation is `Apply` or `Update`.
pub type Ownership = BTreeMap<String, (String, FieldSet)>;

/// A field owned by another manager with another value.
#[derive(Debug)]
pub struct Conflict {
    pub manager: String,
    pub path: Path,
}

/// How a list merges.
enum ListType {
    /// Items are objects identified by these fields.
    Map(&'static [&'static str]),
    /// Items are scalars, merged as a set.
    Set,
    /// The list is one value.
    Atomic,
}

/// The merge strategy of the list at `path` holding `items`.
fn list_type(path: &[String], items: &[Value]) -> ListType {
    let field = path.last().map(String::as_str).unwrap_or_default();
    match field {
        "f:containers"
        | "f:initContainers"
        | "f:ephemeralContainers"
        | "f:env"
        | "f:volumes"
        | "f:imagePullSecrets" => ListType::Map(&["name"]),
        "f:ports" if items.iter().any(|item| item.get("containerPort").is_some()) => {
            ListType::Map(&["containerPort", "protocol"])
        }
        "f:ports" => ListType::Map(&["port", "protocol"]),
        "f:volumeMounts" => ListType::Map(&["mountPath"]),
        "f:ownerReferences" => ListType::Map(&["uid"]),
        "f:conditions" => ListType::Map(&["type"]),
        "f:finalizers" => ListType::Set,
        _ => ListType::Atomic,
    }
}

/// Fields the API server owns, never part of a field set.
fn is_server_field(path: &[String]) -> bool {
    match path {
        [first] => matches!(first.as_str(), "f:apiVersion" | "f:kind" | "f:status"),
        [first, second] if first == "f:metadata" => matches!(
            second.as_str(),
            "f:name"
                | "f:namespace"
                | "f:uid"
                | "f:resourceVersion"
                | "f:generation"
                | "f:creationTimestamp"
                | "f:deletionTimestamp"
                | "f:managedFields"
                | "f:selfLink"
        ),
        _ => false,
    }
}

/// The fields `object` sets: its leaves, and the items of keyed lists and sets.
pub fn field_set(object: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    collect(object, &mut Vec::new(), &mut out);
    out
}

fn collect(value: &Value, path: &mut Path, out: &mut FieldSet) {
    if is_server_field(path) {
        return;
    }
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            for (name, field) in fields {
                path.push(format!("f:{name}"));
                collect(field, path, out);
                path.pop();
            }
        }
        Value::Array(items) if !path.is_empty() => match list_type(path, items) {
            ListType::Map(keys) => {
                for item in items {
                    path.push(item_key(item, keys));
                    out.insert(path.clone());
                    collect(item, path, out);
                    path.pop();
                }
            }
            ListType::Set => {
                for item in items {
                    path.push(format!("v:{item}"));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            ListType::Atomic => {
                out.insert(path.clone());
            }
        },
        _ if !path.is_empty() => {
            out.insert(path.clone());
        }
        _ => {}
    }
}

/// `k:{"name":"user"}`: the item's merge key fields, as sorted JSON.
fn item_key(item: &Value, keys: &[&str]) -> String {
    let mut key = Map::new();
    for field in keys {
        if let Some(value) = item.get(*field) {
            key.insert((*field).to_owned(), value.clone());
        }
    }
    format!("k:{}", Value::Object(key))
}

/// The value at `path`, if the object has one.
pub fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = object;
    for segment in path {
        node = step(node, segment)?;
    }
    Some(node)
}

fn step<'a>(node: &'a Value, segment: &str) -> Option<&'a Value> {
    if let Some(field) = segment.strip_prefix("f:") {
        return node.get(field);
    }
    let items = node.as_array()?;
    if let Some(key) = segment.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).ok()?;
        return items.iter().find(|item| {
            key.iter()
                .all(|(field, value)| item.get(field) == Some(value))
        });
    }
    let value: Value = serde_json::from_str(segment.strip_prefix("v:")?).ok()?;
    items.iter().find(|item| **item == value)
}

/// Whether `path` names a list item (a keyed item or a set member) rather than a field.
fn is_item(path: &[String]) -> bool {
    path.last()
        .is_some_and(|segment| segment.starts_with("k:") || segment.starts_with("v:"))
}

/// Removes the field or item at `path`; then empty objects left behind on the way up.
fn remove_at(object: &mut Value, path: &[String]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let Some(parent) = value_at_mut(object, parent_path) else {
        return;
    };
    if let Some(field) = last.strip_prefix("f:") {
        if let Some(fields) = parent.as_object_mut() {
            fields.remove(field);
        }
    } else if let Some(items) = parent.as_array_mut() {
        let target = step(&Value::Array(items.clone()), last).cloned();
        if let Some(target) = target {
            items.retain(|item| *item != target);
        }
    }
    // Prune the objects this emptied (a field set never holds an empty object).
    for depth in (1..path.len()).rev() {
        let emptied = value_at(object, &path[..depth])
            .is_some_and(|v| v.as_object().is_some_and(Map::is_empty));
        if emptied {
            remove_at_shallow(object, &path[..depth]);
        } else {
            break;
        }
    }
}

fn remove_at_shallow(object: &mut Value, path: &[String]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    if let (Some(field), Some(parent)) =
        (last.strip_prefix("f:"), value_at_mut(object, parent_path))
    {
        if let Some(fields) = parent.as_object_mut() {
            fields.remove(field);
        }
    }
}

fn value_at_mut<'a>(object: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut node = object;
    for segment in path {
        node = if let Some(field) = segment.strip_prefix("f:") {
            node.get_mut(field)?
        } else {
            let found = step(node, segment)?.clone();
            node.as_array_mut()?
                .iter_mut()
                .find(|item| **item == found)?
        };
    }
    Some(node)
}

/// Merges the applied object `patch` into `target`, list by list as their types say.
pub fn merge(target: &mut Value, patch: &Value) {
    merge_at(target, patch, &mut Vec::new());
}

fn merge_at(target: &mut Value, applied_value: &Value, path: &mut Path) {
    match (target, applied_value) {
        (Value::Object(fields), Value::Object(applied)) => {
            for (name, value) in applied {
                path.push(format!("f:{name}"));
                match fields.get_mut(name) {
                    Some(existing) if !value.is_null() => merge_at(existing, value, path),
                    _ if value.is_null() => {}
                    _ => {
                        fields.insert(name.clone(), value.clone());
                    }
                }
                path.pop();
            }
        }
        (Value::Array(items), Value::Array(applied)) => match list_type(path, applied) {
            ListType::Map(keys) => {
                for item in applied {
                    let key = item_key(item, keys);
                    let existing = step(&Value::Array(items.clone()), &key).cloned();
                    match existing.and_then(|found| items.iter_mut().find(|i| **i == found)) {
                        Some(existing) => {
                            path.push(key);
                            merge_at(existing, item, path);
                            path.pop();
                        }
                        None => items.push(item.clone()),
                    }
                }
            }
            ListType::Set => {
                for item in applied {
                    if !items.contains(item) {
                        items.push(item.clone());
                    }
                }
            }
            ListType::Atomic => items.clone_from(applied),
        },
        (target, applied_value) => target.clone_from(applied_value),
    }
}

/// The ownership recorded in `object`'s `metadata.managedFields`.
pub fn ownership(object: &Value) -> Ownership {
    let mut owners = Ownership::new();
    let entries = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for entry in entries {
        let manager = entry["manager"].as_str().unwrap_or_default().to_owned();
        let operation = entry["operation"].as_str().unwrap_or("Update").to_owned();
        let mut fields = FieldSet::new();
        from_tree(&entry["fieldsV1"], &mut Vec::new(), &mut fields);
        owners.insert(manager, (operation, fields));
    }
    owners
}

/// Writes `owners` into `object`'s `metadata.managedFields`, keeping the time of entries whose
/// fields did not change.
pub fn record_ownership(object: &mut Value, owners: &Ownership, previous: &Value, now: &str) {
    let before = ownership(previous);
    let times: BTreeMap<String, Value> = previous
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["manager"].as_str()?.to_owned(), e["time"].clone())))
        .collect();
    let api_version = object["apiVersion"].clone();
    let entries: Vec<Value> = owners
        .iter()
        .filter(|(_, (_, fields))| !fields.is_empty())
        .map(|(manager, (operation, fields))| {
            let unchanged = before.get(manager) == Some(&(operation.clone(), fields.clone()));
            let time = match times.get(manager) {
                Some(time) if unchanged => time.clone(),
                _ => Value::String(now.to_owned()),
            };
            json!({
                "manager": manager,
                "operation": operation,
                "apiVersion": api_version,
                "time": time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_tree(fields),
            })
        })
        .collect();
    let meta = object
        .as_object_mut()
        .and_then(|o| o.get_mut("metadata"))
        .and_then(Value::as_object_mut);
    if let Some(meta) = meta {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }
}

/// `FieldsV1`: a tree of segments; a leaf is `{}`, a list item also owned itself has `".": {}`.
fn to_tree(fields: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut node = &mut root;
        for segment in path {
            node = node
                .entry(segment.clone())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("tree nodes are objects");
        }
        if is_item(path) {
            node.insert(".".into(), Value::Object(Map::new()));
        }
    }
    Value::Object(root)
}

fn from_tree(node: &Value, path: &mut Path, out: &mut FieldSet) {
    let Some(children) = node.as_object() else {
        return;
    };
    if (children.is_empty() || children.contains_key(".")) && !path.is_empty() {
        out.insert(path.clone());
    }
    for (segment, child) in children {
        if segment == "." {
            continue;
        }
        path.push(segment.clone());
        from_tree(child, path, out);
        path.pop();
    }
}

/// Applies `body` as `manager` onto `old` (`None`: the object is new). Returns the new object
/// with its `managedFields`, or the conflicts when not forced.
pub fn apply(
    old: Option<&Value>,
    body: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, Vec<Conflict>> {
    let mut body = body.clone();
    canonicalize(&mut body);
    let applied = field_set(&body);
    let Some(old) = old else {
        let mut new = body;
        let owners = Ownership::from([(manager.to_owned(), ("Apply".to_owned(), applied))]);
        record_ownership(&mut new, &owners, &Value::Null, now);
        return Ok(new);
    };
    let mut owners = ownership(old);
    let conflicts: Vec<Conflict> = owners
        .iter()
        .filter(|(other, _)| other.as_str() != manager)
        .flat_map(|(other, (_, fields))| {
            applied
                .iter()
                .filter(|path| fields.contains(*path) && !is_item(path))
                .filter(|path| value_at(old, path) != value_at(&body, path))
                .map(|path| Conflict {
                    manager: other.clone(),
                    path: path.clone(),
                })
        })
        .collect();
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for conflict in &conflicts {
        if let Some((_, fields)) = owners.get_mut(&conflict.manager) {
            fields.remove(&conflict.path);
        }
    }
    let before = owners
        .get(manager)
        .filter(|(operation, _)| operation == "Apply")
        .map(|(_, fields)| fields.clone())
        .unwrap_or_default();
    owners.insert(manager.to_owned(), ("Apply".to_owned(), applied.clone()));
    let still_owned: FieldSet = owners
        .values()
        .flat_map(|(_, f)| f.iter().cloned())
        .collect();
    let mut new = old.clone();
    // Fields this manager stopped applying and nobody else owns go, deepest first.
    let dropped: Vec<&Path> = before
        .iter()
        .filter(|path| !still_owned.contains(*path))
        .filter(|path| {
            !still_owned
                .iter()
                .any(|owned| owned.starts_with(path) && owned.len() > path.len())
        })
        .collect();
    // A dropped list item goes whole: its own fields need no removal of their own (and once
    // its key field is gone, the item could not be found any more).
    let roots: Vec<&Path> = dropped
        .iter()
        .filter(|path| {
            !dropped
                .iter()
                .any(|other| other.len() < path.len() && is_item(other) && path.starts_with(other))
        })
        .copied()
        .collect();
    for path in roots {
        remove_at(&mut new, path);
    }
    merge(&mut new, &body);
    record_ownership(&mut new, &owners, old, now);
    Ok(new)
}

/// Records an update (a PUT or a non-apply PATCH) by `manager` that turned `old` into `new`:
/// the manager owns what changed, nobody else does.
pub fn update(old: &Value, new: &mut Value, manager: &str, now: &str) {
    canonicalize(new);
    let mut owners = ownership(old);
    let before = field_set(old);
    let after = field_set(new);
    let changed: FieldSet = after
        .iter()
        .filter(|path| value_at(old, path) != value_at(new, path) || !before.contains(*path))
        .cloned()
        .collect();
    let gone: FieldSet = before.difference(&after).cloned().collect();
    for (_, fields) in owners.values_mut() {
        fields.retain(|path| !changed.contains(path) && !gone.contains(path));
    }
    if !changed.is_empty() {
        let entry = owners
            .entry(manager.to_owned())
            .or_insert_with(|| ("Update".to_owned(), FieldSet::new()));
        if entry.0 == "Update" {
            entry.1.extend(changed);
        } else {
            owners.insert(format!("{manager}-update"), ("Update".to_owned(), changed));
        }
    }
    record_ownership(new, &owners, old, now);
}

/// Stores the resource quantities of containers canonically, as the API server does.
pub fn canonicalize(object: &mut Value) {
    for pointer in ["/spec/template/spec/containers", "/spec/containers"] {
        let Some(containers) = object.pointer_mut(pointer).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in containers {
            for kind in ["requests", "limits"] {
                let Some(values) = container
                    .pointer_mut(&format!("/resources/{kind}"))
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                for value in values.values_mut() {
                    if let Some(canonical) = value.as_str().and_then(canonical_quantity) {
                        *value = Value::String(canonical);
                    }
                }
            }
        }
    }
}

/// A quantity's canonical form (`k8s.io/apimachinery/pkg/api/resource`): the largest suffix of
/// its kind (binary: Ki, Mi, ...; decimal: m, "", k, M, ...) that keeps the number whole; a
/// binary quantity that is not a whole number of units becomes decimal. `None` for forms not
/// modelled (exponents, more than three decimals).
pub fn canonical_quantity(text: &str) -> Option<String> {
    const BINARY: [(&str, u32); 6] = [
        ("Ki", 1),
        ("Mi", 2),
        ("Gi", 3),
        ("Ti", 4),
        ("Pi", 5),
        ("Ei", 6),
    ];
    const DECIMAL: [(&str, u32); 8] = [
        ("m", 0),
        ("", 1),
        ("k", 2),
        ("M", 3),
        ("G", 4),
        ("T", 5),
        ("P", 6),
        ("E", 7),
    ];
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.len() > 3 || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    let sign = if whole.starts_with('-') { "-" } else { "" };
    let whole: i128 = match whole.trim_start_matches(['+', '-']) {
        "" => 0,
        digits => digits.parse().ok()?,
    };
    let fraction: i128 = format!("{fraction:0<3}").parse().ok()?;
    // The number times 1000, in units of the suffix.
    let thousandths = whole * 1000 + fraction;
    // The value in milli-units.
    let milli = if let Some((_, power)) = BINARY.iter().find(|(s, _)| *s == suffix) {
        let milli = thousandths * 1024_i128.pow(*power);
        if milli % 1000 == 0 {
            let units = milli / 1000;
            let (name, size) = BINARY
                .iter()
                .rev()
                .map(|(name, power)| (*name, 1024_i128.pow(*power)))
                .find(|(_, size)| units != 0 && units % size == 0)
                .unwrap_or(("", 1));
            return Some(format!("{sign}{}{name}", units / size));
        }
        milli
    } else {
        let (_, power) = DECIMAL.iter().find(|(s, _)| *s == suffix)?;
        let milli = thousandths * 1000_i128.pow(*power);
        if milli % 1000 != 0 {
            return None;
        }
        milli / 1000
    };
    let (name, size) = DECIMAL
        .iter()
        .rev()
        .map(|(name, power)| (*name, 1000_i128.pow(*power)))
        .find(|(_, size)| milli != 0 && milli % size == 0)
        .unwrap_or(("", 1));
    Some(format!("{sign}{}{name}", milli / size))
}
