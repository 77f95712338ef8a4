//! Diagnostics for the caller's logger ("compiled and cached", cache
//! warnings), each with its level, so the binding hands Node objects rather
//! than text to cut apart.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    pub message: String,
}

impl LogLine {
    pub fn info(message: String) -> LogLine {
        LogLine { level: Level::Info, message }
    }
    pub fn warn(message: String) -> LogLine {
        LogLine { level: Level::Warn, message }
    }
}
