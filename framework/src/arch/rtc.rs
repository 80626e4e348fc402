//! The CMOS real-time clock (MC146818 at ports 0x70/0x71) and the wall
//! clock built on it: read once at boot, then [`realtime_ns`] = boot wall
//! time + [`monotonic_ns`](super::tsc::monotonic_ns).
//!
//! Reading: wait for "update in progress" to clear, read all fields, and
//! repeat until two reads agree (an update may start in between). Status
//! register B says BCD or binary and 12 or 24 hours. The century: ACPI's
//! FADT names a CMOS century register, but ACPI is not parsed yet, so the
//! year is taken as 20xx (good until 2099).
//!
//! Threat model: the RTC is a host device; under TDX/SNP the host sets it
//! to anything. Every field is range-checked and an implausible date is
//! refused (wall time then starts at the Unix epoch, with a warning): it
//! is never trusted for anything but telling the time.

use core::sync::atomic::{AtomicU64, Ordering};

use super::port::Port;

const INDEX_PORT: u16 = 0x70;
const DATA_PORT: u16 = 0x71;
const SECONDS: u8 = 0x00;
const MINUTES: u8 = 0x02;
const HOURS: u8 = 0x04;
const DAY: u8 = 0x07;
const MONTH: u8 = 0x08;
const YEAR: u8 = 0x09;
const STATUS_A: u8 = 0x0a;
const STATUS_B: u8 = 0x0b;
const STATUS_A_UPDATE_IN_PROGRESS: u8 = 0x80;
const STATUS_B_24_HOUR: u8 = 0x02;
const STATUS_B_BINARY: u8 = 0x04;
const HOUR_PM: u8 = 0x80;
/// Polls of "update in progress" (an update lasts < 2 ms).
const MAX_UPDATE_POLLS: u32 = 1_000_000;
const MAX_READS: u32 = 5;

/// A calendar date and time, UTC (QEMU's RTC follows the host's UTC by
/// default; a local-time RTC would be off by the zone offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcError {
    /// "Update in progress" never cleared: no RTC, or a stuck one.
    NoRtc,
    /// The fields kept changing between reads.
    Unstable,
    /// A field is out of range or not BCD (raw registers).
    Invalid([u8; 6]),
}

impl DateTime {
    /// Seconds since 1970-01-01T00:00:00Z; `None` before 1970.
    pub fn unix_seconds(&self) -> Option<u64> {
        let days = days_from_civil(self.year, self.month, self.day)?;
        Some(days * 86_400 + u64::from(self.hour) * 3600 + u64::from(self.minute) * 60 + u64::from(self.second))
    }

    fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }
}

impl core::fmt::Display for DateTime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to `year-month-day` (proleptic Gregorian; Howard
/// Hinnant's `days_from_civil`), `None` before 1970.
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<u64> {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    u64::try_from(era * 146_097 + day_of_era - 719_468).ok()
}

/// A BCD byte's value, if both digits are decimal.
fn from_bcd(value: u8) -> Option<u8> {
    let (high, low) = (value >> 4, value & 0xf);
    (high <= 9 && low <= 9).then_some(high * 10 + low)
}

/// Decode raw RTC registers (seconds, minutes, hours, day, month, year)
/// under status register B.
fn decode(raw: [u8; 6], status_b: u8) -> Option<DateTime> {
    let binary = status_b & STATUS_B_BINARY != 0;
    let field = |value: u8| if binary { Some(value) } else { from_bcd(value) };
    let [second, minute, hour_raw, day, month, year] = raw;
    let pm = hour_raw & HOUR_PM != 0;
    let mut hour = u32::from(field(hour_raw & !HOUR_PM)?);
    if status_b & STATUS_B_24_HOUR == 0 {
        // 12-hour clock: 12 AM is 0:xx, 12 PM is 12:xx.
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    } else if pm {
        return None;
    }
    let year = u32::from(field(year)?);
    if year > 99 {
        return None;
    }
    let time = DateTime {
        year: 2000 + year,
        month: u32::from(field(month)?),
        day: u32::from(field(day)?),
        hour,
        minute: u32::from(field(minute)?),
        second: u32::from(field(second)?),
    };
    time.is_valid().then_some(time)
}

struct Cmos {
    index: Port,
    data: Port,
}

impl Cmos {
    fn read(&self, register: u8) -> u8 {
        // Bit 7 of the index clear: NMIs stay enabled.
        self.index.write_u8(register & 0x7f);
        self.data.read_u8()
    }

    fn wait_for_update_to_finish(&self) -> Result<(), RtcError> {
        for _ in 0..MAX_UPDATE_POLLS {
            if self.read(STATUS_A) & STATUS_A_UPDATE_IN_PROGRESS == 0 {
                return Ok(());
            }
            core::hint::spin_loop();
        }
        Err(RtcError::NoRtc)
    }

    fn read_fields(&self) -> Result<[u8; 6], RtcError> {
        self.wait_for_update_to_finish()?;
        Ok([SECONDS, MINUTES, HOURS, DAY, MONTH, YEAR].map(|register| self.read(register)))
    }
}

static CMOS: spin::Mutex<Cmos> = spin::Mutex::new(Cmos {
    // SAFETY: the CMOS index/data ports only reach the RTC and the CMOS
    // NVRAM, not memory; only this module uses them.
    index: unsafe { Port::new(INDEX_PORT) },
    // SAFETY: as above.
    data: unsafe { Port::new(DATA_PORT) },
});

/// Read the RTC now.
pub fn read() -> Result<DateTime, RtcError> {
    let _irq = super::irq::disable_local();
    let cmos = CMOS.lock();
    let mut previous = cmos.read_fields()?;
    for _ in 0..MAX_READS {
        let current = cmos.read_fields()?;
        if current == previous {
            let status_b = cmos.read(STATUS_B);
            return decode(current, status_b).ok_or(RtcError::Invalid(current));
        }
        previous = current;
    }
    Err(RtcError::Unstable)
}

/// Wall-clock time (ns since the Unix epoch) at monotonic time 0.
static BOOT_REALTIME_NS: AtomicU64 = AtomicU64::new(0);

/// Read the RTC and anchor the wall clock (after `tsc::init`). Returns the
/// time read, or the error (the wall clock then starts at the epoch).
pub fn init() -> Result<DateTime, RtcError> {
    let now = read()?;
    let unix_ns = now.unix_seconds().unwrap_or(0).saturating_mul(1_000_000_000);
    BOOT_REALTIME_NS.store(unix_ns.saturating_sub(super::tsc::monotonic_ns()), Ordering::Relaxed);
    Ok(now)
}

/// Wall-clock time in nanoseconds since the Unix epoch: the RTC at boot
/// (whole seconds) plus the monotonic clock.
pub fn realtime_ns() -> u64 {
    BOOT_REALTIME_NS.load(Ordering::Relaxed).saturating_add(super::tsc::monotonic_ns())
}

mod tests {
    use super::*;
    use crate::ktest;

    #[ktest]
    fn calendar_arithmetic() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(1969, 12, 31), None);
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        let time = DateTime { year: 2024, month: 2, day: 29, hour: 12, minute: 34, second: 56 };
        assert_eq!(time.unix_seconds(), Some(1_709_210_096));
        assert!(time.is_valid());
        assert!(!DateTime { day: 29, year: 2100, ..time }.is_valid(), "2100 is not a leap year");
        assert!(!DateTime { month: 13, ..time }.is_valid());
    }

    #[ktest]
    fn register_decoding() {
        // 2025-11-25 23:59:58, BCD, 24 h.
        let bcd = [0x58, 0x59, 0x23, 0x25, 0x11, 0x25];
        let expected = DateTime { year: 2025, month: 11, day: 25, hour: 23, minute: 59, second: 58 };
        assert_eq!(decode(bcd, STATUS_B_24_HOUR), Some(expected));
        // Same in binary.
        assert_eq!(decode([58, 59, 23, 25, 11, 25], STATUS_B_24_HOUR | STATUS_B_BINARY), Some(expected));
        // 12-hour BCD: 11 PM = 0x80 | 0x11; 12 AM = 0x12 -> 0 h; 12 PM -> 12 h.
        assert_eq!(decode([0x58, 0x59, 0x91, 0x25, 0x11, 0x25], 0), Some(expected));
        assert_eq!(decode([0, 0, 0x12, 1, 1, 0x24], 0).map(|t| t.hour), Some(0));
        assert_eq!(decode([0, 0, 0x92, 1, 1, 0x24], 0).map(|t| t.hour), Some(12));
        // Garbage: non-BCD digits, hour 0 in 12-hour mode, month 0, PM bit in 24-hour mode.
        assert_eq!(decode([0x5a, 0, 0, 1, 1, 0x24], STATUS_B_24_HOUR), None);
        assert_eq!(decode([0, 0, 0x00, 1, 1, 0x24], 0), None);
        assert_eq!(decode([0, 0, 0, 1, 0, 0x24], STATUS_B_24_HOUR), None);
        assert_eq!(decode([0, 0, 0x81, 1, 1, 0x24], STATUS_B_24_HOUR), None);
    }

    #[ktest]
    fn rtc_gives_a_plausible_date() {
        let now = read().expect("the RTC reads");
        assert!((2024..=2100).contains(&now.year), "RTC year {}", now.year);
        let rtc_ns = now.unix_seconds().expect("after 1970") * 1_000_000_000;
        let realtime = realtime_ns();
        // The boot anchor is whole seconds: allow the truncation plus slack.
        assert!(realtime.abs_diff(rtc_ns) <= 3_000_000_000, "realtime {} vs RTC {}", realtime, rtc_ns);
    }
}
