-- The W3C trace context of the work that wrote each event; the relay sends it as the AMQP header
-- `traceparent`, so the consumers' log lines carry the same trace id as the request's.
alter table outbox add column traceparent text;
