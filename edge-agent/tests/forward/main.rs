//! Event forwarding against a scripted fake `EventIngestService` on a real socket: the
//! test decides what each call answers, the fake records what it stored.

mod delivery;
mod fake_ingest;
mod shutdown;
