//! Delivery events in and what Bearing makes of them (issue 13).

mod dora;
