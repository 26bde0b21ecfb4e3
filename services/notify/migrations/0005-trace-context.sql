-- A notification keeps the trace context (W3C traceparent, tracestate) of the event that
-- caused it, so that its delivery, later and from the courier, joins the concern's trace.
-- Null when tracing is off.
ALTER TABLE notifications ADD COLUMN trace_context jsonb;
