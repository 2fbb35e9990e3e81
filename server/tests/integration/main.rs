//! Integration tests against a real PostgreSQL (one private cluster under `target/test-pg`,
//! one fresh database per test) and the real router, driven with `oneshot`.

mod logs;
mod util;

mod access_reviews;
mod api;
mod audit;
mod auth;
mod backstage;
mod catalog;
mod cli;
mod db;
mod delivery;
mod evidence;
mod health;
mod import_bulk;
mod import_limits;
mod injection;
mod list_index;
mod mesh;
mod oidc;
mod openapi;
mod ownership;
mod pages;
mod scorecards;
mod services;
mod trace;
