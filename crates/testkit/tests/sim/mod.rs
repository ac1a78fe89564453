pub mod flow;
pub mod model;
