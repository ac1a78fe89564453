//! Named limits checked before any allocation a peer can steer.

/// Bounds applied by the frame decoder and body decoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest whole frame, including the 4-byte length prefix (Java: 16 MiB).
    pub frame_bytes_max: usize,
    /// Largest body after decompression (zlib registration bodies).
    pub inflated_body_bytes_max: usize,
}

impl FrameLimits {
    /// RocketMQ's default frame limit, `com.rocketmq.remoting.frameMaxLength` = 16 MiB.
    pub const DEFAULT_FRAME_BYTES_MAX: usize = 16 * 1024 * 1024;
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self {
            frame_bytes_max: Self::DEFAULT_FRAME_BYTES_MAX,
            inflated_body_bytes_max: 4 * Self::DEFAULT_FRAME_BYTES_MAX,
        }
    }
}
