//! Background work: long-polling wake-ups, NameServer registration, delay-level delivery,
//! transaction checks, and housekeeping (client expiry, offset persistence).

pub mod controller_calls;
pub mod controller_link;
pub mod housekeeping;
pub mod internal_queue;
pub mod long_polling;
pub mod pop_revive;
pub mod register;
pub mod role_gate;
pub mod schedule;
pub mod slave_sync;
pub mod timer;
mod timer_state;
pub mod transaction_check;
