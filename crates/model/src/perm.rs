//! Permission bits (`PermName`) and topic system flags (`TopicSysFlag`), as RocketMQ numbers them.

/// Topic/broker permission bits: PRIORITY 8, READ 4, WRITE 2, INHERIT 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Perm(pub i32);

impl Perm {
    pub const PRIORITY: i32 = 8;
    pub const READ: i32 = 4;
    pub const WRITE: i32 = 2;
    pub const INHERIT: i32 = 1;
    /// Read and write: the default for normal topics.
    pub const READ_WRITE: Perm = Perm(Self::READ | Self::WRITE);

    pub fn is_readable(self) -> bool {
        self.0 & Self::READ != 0
    }

    pub fn is_writeable(self) -> bool {
        self.0 & Self::WRITE != 0
    }

    pub fn is_inherited(self) -> bool {
        self.0 & Self::INHERIT != 0
    }

    /// This permission with the write bit cleared.
    #[must_use]
    pub fn without_write(self) -> Perm {
        Perm(self.0 & !Self::WRITE)
    }
}

/// Topic system flag bits: bit 0 = unit topic, bit 1 = has unit subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TopicSysFlag(pub i32);

impl TopicSysFlag {
    pub const UNIT: i32 = 0x1;
    pub const UNIT_SUB: i32 = 0x2;

    pub fn is_unit(self) -> bool {
        self.0 & Self::UNIT != 0
    }

    pub fn has_unit_sub(self) -> bool {
        self.0 & Self::UNIT_SUB != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_read_write_when_write_wiped_should_keep_read_only() {
        let p = Perm::READ_WRITE.without_write();
        assert!(p.is_readable());
        assert!(!p.is_writeable());
        assert_eq!(p.0, 4);
    }

    #[test]
    fn given_sys_flags_when_tested_should_read_each_bit() {
        assert!(TopicSysFlag(1).is_unit() && !TopicSysFlag(1).has_unit_sub());
        assert!(TopicSysFlag(2).has_unit_sub() && !TopicSysFlag(2).is_unit());
    }
}
