//! The machine's own limits, measured the same way in the same run as the broker, so the
//! broker's figures can be read as a fraction of what the hardware allows:
//!
//! * [`tcp`]: frames of the message size echoed over loopback TCP by N connections, each with
//!   a window of frames in flight: the ceiling for acknowledged sends and for deliveries.
//! * [`round_trips`]: requests of the message size answered with 16 bytes, one outstanding
//!   per connection: the ceiling for sync sends (third-party client comparisons use it), and
//!   the echo server's CPU per round trip: the floor for a broker's CPU per sync send.
//! * [`disk`]: appends of the message size to a temp file, flushed only at the end (the
//!   async-flush limit) or with `fdatasync` after every batch (the sync-flush, group-commit
//!   limit).

mod disk;
mod round_trip;
mod tcp;
mod thread_cpu;

pub use disk::{DISK_BYTES_MAX, DiskConfig, DiskFlush, disk};
pub use round_trip::{RoundTrips, round_trips};
pub use tcp::{TcpConfig, tcp};
pub use thread_cpu::threads_cpu_micros;
