//! The TSM (trusted security module) report interface of Linux
//! (drivers/virt/coco/guest/report.c, `configfs-tsm`): one provider (the
//! TDX or SEV-SNP guest driver) turns user data into an attestation
//! report through `/sys/kernel/config/tsm/report/<name>/`.
//!
//! | module | owns |
//! |---|---|
//! | [`report`] | the provider slot, report items, their attributes and generation counting |
//! | [`parse`] | `kstrtouint` and `guid_parse` as Linux's stores use them |

pub mod parse;
pub mod report;

pub use report::{register_provider, unregister_provider, ReportBlobs, ReportDesc, TsmAttr, TsmProvider};
