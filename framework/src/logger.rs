//! The `log` crate's backend: lines on the serial console, and records
//! in the kernel log buffer ([`crate::klog`], for syslog(2)).
//!
//! Level from the command line: `loglevel=N` (Linux's numbers: <=3 error,
//! 4 warn, 5-6 info, 7 debug) or `umbra.log=error|warn|info|debug|trace`.

use log::{LevelFilter, Log, Metadata, Record};

struct ConsoleLogger;

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            crate::println!("[{:>5}] {}", record.level(), record.args());
            crate::klog::record(record.level(), *record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: ConsoleLogger = ConsoleLogger;

/// The level the command line asks for (default: info).
pub fn level_from_cmdline(cmdline: &str) -> LevelFilter {
    let mut level = LevelFilter::Info;
    for word in cmdline.split_ascii_whitespace() {
        if let Some(value) = word.strip_prefix("loglevel=") {
            level = match value.parse::<u8>() {
                Ok(0..=3) => LevelFilter::Error,
                Ok(4) => LevelFilter::Warn,
                Ok(5 | 6) => LevelFilter::Info,
                Ok(_) => LevelFilter::Debug,
                Err(_) => level,
            };
        } else if let Some(value) = word.strip_prefix("umbra.log=") {
            level = value.parse().unwrap_or(level);
        }
    }
    level
}

/// Install the logger. Called once at boot.
pub fn init(level: LevelFilter) {
    // A second call would fail harmlessly; the first one wins.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
