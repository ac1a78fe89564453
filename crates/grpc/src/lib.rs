//! The v5 gRPC endpoint: RocketMQ 5's `apache.rocketmq.v2.MessagingService`, served by the
//! broker process itself (RocketMQ needs a separate proxy for it), over the broker's messaging
//! operations (`apogee_broker::messaging`).
//!
//! ```text
//! v5 client ─ HTTP/2 ─► service (one RPC → one module) ─► produce / consume / offsets / route
//!                                                             │
//!                    broker::messaging: send, end transaction, POP, tables ◄┘
//! telemetry: settings in, merged settings and transaction checks out (per client id)
//! ```

mod auth;
mod consume;
mod convert;
mod offsets;
mod produce;
mod recall;
mod route;
mod server;
mod service;
mod status;
mod telemetry;

pub use server::{GrpcServer, serve};

pub mod pb {
    #![allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
    tonic::include_proto!("apache.rocketmq.v2");
}
