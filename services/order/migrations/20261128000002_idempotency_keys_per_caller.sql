-- Idempotency keys belong to their caller (DESIGN §6): two users may use the same key, and one
-- user's key never answers another's request. Keys expire (IDEMPOTENCY_KEY_TTL, 24 h); the
-- index serves the sweep that deletes expired ones.
alter table idempotency_keys add column user_id bigint;
update idempotency_keys k set user_id = o.user_id from orders o where o.id = k.order_id;
-- Claimed but never completed (the request failed): nothing to replay.
delete from idempotency_keys where user_id is null;
alter table idempotency_keys alter column user_id set not null;
alter table idempotency_keys drop constraint idempotency_keys_pkey;
alter table idempotency_keys add primary key (user_id, key);
create index idempotency_keys_created_at on idempotency_keys (created_at);
