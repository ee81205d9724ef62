-- Subscribers without a cursor replay the events of a recent time window.
CREATE INDEX events_at ON events(at);
