pub mod postgres;

pub use postgres::{TestDatabase, TestPostgres};
