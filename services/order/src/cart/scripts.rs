//! The cart's Lua scripts: each write is one script, so it is atomic in Redis (concurrent adds
//! never lose an update and never pass the line or unit limits), refreshes the key's expiry and
//! answers the cart's fields as they are afterwards. The hash's layout is in [`super::fields`].

use std::sync::LazyLock;

/// Adds units to a line, creating it at the end unless the cart is full.
/// KEYS[1] the cart; ARGV product, units, most lines, most units, expiry (ms), now (ms).
/// Returns `{0, quantity now, 1 if created}`, `{-1, lines}` when full, `{-2, quantity}` when
/// the line would pass the most units; then the cart's fields.
const ADD: &str = r"
local key, product = KEYS[1], ARGV[1]
local add, max_lines, max_units = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local line = redis.call('HGET', key, product)
local seq, had = nil, 0
if line then
  local sep = string.find(line, ':', 1, true)
  seq = string.sub(line, 1, sep - 1)
  had = tonumber(string.sub(line, sep + 1))
else
  local lines = math.max(redis.call('HLEN', key) - 2, 0)
  if lines >= max_lines then return {-1, lines, 0, redis.call('HGETALL', key)} end
end
if had + add > max_units then return {-2, had, 0, redis.call('HGETALL', key)} end
local created = 0
if not seq then
  seq = redis.call('HINCRBY', key, '_seq', 1)
  created = 1
end
redis.call('HSET', key, product, seq .. ':' .. (had + add), '_at', ARGV[6])
redis.call('PEXPIRE', key, ARGV[5])
return {0, had + add, created, redis.call('HGETALL', key)}
";

/// Sets a line's units. KEYS[1] the cart; ARGV product, units, expiry (ms), now (ms).
/// Returns `{0}` or `{-1}` when the line is not there; then the cart's fields.
const SET: &str = r"
local key, product = KEYS[1], ARGV[1]
local line = redis.call('HGET', key, product)
if not line then return {-1, redis.call('HGETALL', key)} end
local seq = string.sub(line, 1, string.find(line, ':', 1, true) - 1)
redis.call('HSET', key, product, seq .. ':' .. ARGV[2], '_at', ARGV[4])
redis.call('PEXPIRE', key, ARGV[3])
return {0, redis.call('HGETALL', key)}
";

/// Removes lines, each only if its units are still the given ones (any units: `*`).
/// KEYS[1] the cart; ARGV expiry (ms), now (ms), then product and units per line.
/// Returns the number of lines removed, then the cart's fields.
const REMOVE: &str = r"
local key = KEYS[1]
local removed = 0
for i = 3, #ARGV, 2 do
  local line = redis.call('HGET', key, ARGV[i])
  if line then
    local units = string.sub(line, string.find(line, ':', 1, true) + 1)
    if ARGV[i + 1] == '*' or tonumber(units) == tonumber(ARGV[i + 1]) then
      redis.call('HDEL', key, ARGV[i])
      removed = removed + 1
    end
  end
end
if removed > 0 then
  if redis.call('HLEN', key) <= 2 then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, '_at', ARGV[2])
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
return {removed, redis.call('HGETALL', key)}
";

pub(super) static ADD_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ADD));
pub(super) static SET_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SET));
pub(super) static REMOVE_SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(REMOVE));
