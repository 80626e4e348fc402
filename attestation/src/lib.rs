//! Umbra's attestation layer: the kernel side of Linux's attestation ABI
//! (`/dev/tdx_guest`, `/dev/sev-guest`, configfs-tsm reports, measurement
//! registers, the CCEL event log), in safe Rust on top of `tee`.
//!
//! Must never: use `unsafe` (forbidden below); hand user space a report
//! built from unchecked host data.
//!
//! Nothing is implemented yet: the attestation issue builds it.
#![no_std]
#![forbid(unsafe_code)]
