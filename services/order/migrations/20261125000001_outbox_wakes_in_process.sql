-- The outbox relay is now woken in-process by the transaction that wrote the events. NOTIFY made
-- every writing transaction take PostgreSQL's database-wide notify lock through its commit,
-- which serialised all of them (docs/decisions.md). The relay still polls as a fallback.
drop trigger if exists outbox_notify on outbox;
drop function if exists notify_outbox();
