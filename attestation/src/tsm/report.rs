//! configfs-tsm report items (Linux drivers/virt/coco/guest/report.c,
//! Documentation/ABI/testing/configfs-tsm-report).
//!
//! Owns: the one provider slot; `tsm/report` as a configfs group whose
//! `mkdir` makes a [`Report`] (`ENXIO` without a provider); its
//! attributes, of which the provider decides which exist; and Linux's
//! generation rules: every successful store or `inblob` commit advances
//! `generation` (`EBUSY` once a writer laps the last read by 2^64 - 1),
//! `outblob`/`auxblob`/`manifestblob` are produced by the provider on the
//! first read after a change and cached until the next one; reading them
//! with no `inblob` is `EINVAL`, without a provider `ENXIO`, and the
//! provider's own error (`EINVAL`, `EIO`, `EBUSY`, ...) is returned as is.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use services::error::Result;
use services::return_errno_with_message;
use spin::RwLock;

use super::parse::{guid_parse, kstrtouint};
use crate::sync::SleepMutex;
use crate::configfs::{self, AttrDesc, AttrKind, ConfigDir, ConfigItem, GroupOps};

/// `TSM_REPORT_INBLOB_MAX`.
pub const INBLOB_MAX: usize = 64;
/// `TSM_REPORT_OUTBLOB_MAX` (`SZ_32K`).
pub const OUTBLOB_MAX: usize = 32 << 10;
/// `TSM_REPORT_PRIVLEVEL_MAX`.
pub const PRIVLEVEL_MAX: u32 = 3;

/// The attributes of a report item (Linux `TSM_REPORT_*` indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsmAttr {
    Generation,
    Provider,
    Privlevel,
    PrivlevelFloor,
    ServiceProvider,
    ServiceGuid,
    ServiceManifestVersion,
    Inblob,
    Outblob,
    Auxblob,
    Manifestblob,
}

const ATTRS: [(TsmAttr, &str, u32, AttrKind); 11] = [
    (TsmAttr::Generation, "generation", 0o444, AttrKind::Text),
    (TsmAttr::Provider, "provider", 0o444, AttrKind::Text),
    (TsmAttr::Privlevel, "privlevel", 0o200, AttrKind::Text),
    (TsmAttr::PrivlevelFloor, "privlevel_floor", 0o444, AttrKind::Text),
    (TsmAttr::ServiceProvider, "service_provider", 0o200, AttrKind::Text),
    (TsmAttr::ServiceGuid, "service_guid", 0o200, AttrKind::Text),
    (TsmAttr::ServiceManifestVersion, "service_manifest_version", 0o200, AttrKind::Text),
    (TsmAttr::Inblob, "inblob", 0o200, AttrKind::Bin { max: INBLOB_MAX }),
    (TsmAttr::Outblob, "outblob", 0o444, AttrKind::Bin { max: OUTBLOB_MAX }),
    (TsmAttr::Auxblob, "auxblob", 0o444, AttrKind::Bin { max: OUTBLOB_MAX }),
    (TsmAttr::Manifestblob, "manifestblob", 0o444, AttrKind::Bin { max: OUTBLOB_MAX }),
];

/// What a report is asked for (`struct tsm_report_desc`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportDesc {
    pub privlevel: u32,
    /// At most [`INBLOB_MAX`] bytes.
    pub inblob: Vec<u8>,
    pub service_provider: Option<Vec<u8>>,
    pub service_guid: [u8; 16],
    pub service_manifest_version: u32,
}

/// What a provider produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportBlobs {
    pub outblob: Vec<u8>,
    pub auxblob: Vec<u8>,
    pub manifestblob: Vec<u8>,
}

/// A report provider (`struct tsm_report_ops`).
pub trait TsmProvider: Send + Sync {
    /// `provider` shows this (`tdx_guest`, `sev_guest`).
    fn name(&self) -> &'static str;
    fn privlevel_floor(&self) -> u32 {
        0
    }
    /// Whether a report item has this attribute (`report_attr_visible`).
    fn visible(&self, attr: TsmAttr) -> bool;
    /// Produce the blobs for `desc` (`report_new`).
    fn report_new(&self, desc: &ReportDesc) -> Result<ReportBlobs>;
}

static PROVIDER: RwLock<Option<Arc<dyn TsmProvider>>> = RwLock::new(None);
/// Report items that exist (a provider may register only while none do).
static ITEMS: AtomicUsize = AtomicUsize::new(0);

fn provider() -> Option<Arc<dyn TsmProvider>> {
    PROVIDER.read().clone()
}

/// `tsm_report_register`: `EBUSY` if a provider is registered or report
/// items exist.
pub fn register_provider(new: Arc<dyn TsmProvider>) -> Result<()> {
    let mut slot = PROVIDER.write();
    if slot.is_some() {
        return_errno_with_message!(EBUSY, "a TSM report provider is registered");
    }
    if ITEMS.load(Ordering::Acquire) != 0 {
        return_errno_with_message!(EBUSY, "configfs/tsm/report not empty");
    }
    *slot = Some(new);
    Ok(())
}

/// `tsm_report_unregister` (items stay, their reads give `ENXIO`).
pub fn unregister_provider() {
    *PROVIDER.write() = None;
}

#[derive(Default)]
struct State {
    desc: ReportDesc,
    write_generation: u64,
    read_generation: u64,
    blobs: Option<ReportBlobs>,
}

impl State {
    /// `try_advance_write_generation`.
    fn advance(&mut self) -> Result<()> {
        if self.write_generation == self.read_generation.wrapping_sub(1) {
            return_errno_with_message!(EBUSY, "report written 2^64-1 times without a read");
        }
        self.write_generation = self.write_generation.wrapping_add(1);
        Ok(())
    }
}

/// One `tsm/report/<name>` item.
pub struct Report {
    /// Held while the provider makes a report (which may wait on the host).
    state: SleepMutex<State>,
}

fn attr_of(id: usize) -> Option<TsmAttr> {
    ATTRS.get(id).map(|(attr, ..)| *attr)
}

impl Report {
    /// `tsm_report_read`: the cached blob, or a new one if a write
    /// happened since it was made.
    fn read(&self, attr: TsmAttr) -> Result<Vec<u8>> {
        let mut state = self.state.lock();
        if state.desc.inblob.is_empty() {
            return_errno_with_message!(EINVAL, "no inblob written");
        }
        let fresh = state.blobs.is_some() && state.read_generation == state.write_generation;
        if !fresh {
            let Some(provider) = provider() else {
                return_errno_with_message!(ENXIO, "no TSM report provider");
            };
            state.blobs = None;
            let blobs = provider.report_new(&state.desc)?;
            state.blobs = Some(blobs);
            state.read_generation = state.write_generation;
        }
        let blobs = state.blobs.as_ref().map(|b| match attr {
            TsmAttr::Auxblob => b.auxblob.clone(),
            TsmAttr::Manifestblob => b.manifestblob.clone(),
            _ => b.outblob.clone(),
        });
        Ok(blobs.unwrap_or_default())
    }
}

impl ConfigItem for Report {
    fn show(&self, id: usize) -> Result<Vec<u8>> {
        match attr_of(id) {
            Some(TsmAttr::Generation) => Ok(format!("{}\n", self.state.lock().write_generation).into_bytes()),
            Some(TsmAttr::Provider) => match provider() {
                Some(p) => Ok(format!("{}\n", p.name()).into_bytes()),
                None => return_errno_with_message!(ENXIO, "no TSM report provider"),
            },
            Some(TsmAttr::PrivlevelFloor) => match provider() {
                Some(p) => Ok(format!("{}\n", p.privlevel_floor()).into_bytes()),
                None => return_errno_with_message!(ENXIO, "no TSM report provider"),
            },
            _ => return_errno_with_message!(EIO, "attribute has no show"),
        }
    }

    fn store(&self, id: usize, data: &[u8]) -> Result<usize> {
        match attr_of(id) {
            Some(TsmAttr::Privlevel) => {
                let value = kstrtouint(data)?;
                let Some(provider) = provider() else {
                    return_errno_with_message!(ENXIO, "no TSM report provider");
                };
                if provider.privlevel_floor() > value || value > PRIVLEVEL_MAX {
                    return_errno_with_message!(EINVAL, "privlevel out of range");
                }
                let mut state = self.state.lock();
                state.advance()?;
                state.desc.privlevel = value;
            }
            Some(TsmAttr::ServiceProvider) => {
                let mut state = self.state.lock();
                state.advance()?;
                let text = data.strip_suffix(b"\n").unwrap_or(data);
                // kstrndup: the text up to its first NUL.
                let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
                state.desc.service_provider = Some(text[..end].to_vec());
            }
            Some(TsmAttr::ServiceGuid) => {
                let mut state = self.state.lock();
                state.advance()?;
                state.desc.service_guid = [0; 16];
                state.desc.service_guid = guid_parse(data)?;
            }
            Some(TsmAttr::ServiceManifestVersion) => {
                let value = kstrtouint(data)?;
                let mut state = self.state.lock();
                state.advance()?;
                state.desc.service_manifest_version = value;
            }
            _ => return_errno_with_message!(EIO, "attribute has no store"),
        }
        Ok(data.len())
    }

    fn read_blob(&self, id: usize) -> Result<Vec<u8>> {
        match attr_of(id) {
            Some(attr @ (TsmAttr::Outblob | TsmAttr::Auxblob | TsmAttr::Manifestblob)) => self.read(attr),
            _ => return_errno_with_message!(EIO, "attribute has no read"),
        }
    }

    fn write_blob(&self, id: usize, data: &[u8]) -> Result<()> {
        if attr_of(id) != Some(TsmAttr::Inblob) {
            return_errno_with_message!(EIO, "attribute has no write");
        }
        let mut state = self.state.lock();
        state.advance()?;
        state.desc.inblob = data[..data.len().min(INBLOB_MAX)].to_vec();
        Ok(())
    }
}

/// `tsm/report`: `mkdir` makes a [`Report`] with the provider's attributes.
struct ReportGroup;

impl GroupOps for ReportGroup {
    fn make_item(&self, _name: &[u8]) -> Result<(Arc<dyn ConfigItem>, Vec<AttrDesc>)> {
        let Some(provider) = provider() else {
            return_errno_with_message!(ENXIO, "no TSM report provider");
        };
        let attrs = ATTRS
            .iter()
            .enumerate()
            .filter(|(_, (attr, ..))| provider.visible(*attr))
            .map(|(id, &(_, name, perm, kind))| AttrDesc { name, perm, kind, id })
            .collect();
        ITEMS.fetch_add(1, Ordering::AcqRel);
        Ok((Arc::new(Report { state: SleepMutex::new(State::default()) }), attrs))
    }

    fn drop_item(&self, _item: &Arc<dyn ConfigItem>) {
        ITEMS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Create `/sys/kernel/config/tsm/report` (Linux `tsm_report_init`).
pub fn register_configfs() {
    let tsm = ConfigDir::new_default();
    tsm.add_default_group(b"report", ConfigDir::new_group(Arc::new(ReportGroup)));
    configfs::register_subsystem(b"tsm", tsm);
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicU32;
    use services::error::Errno;

    struct Counting(AtomicU32);

    impl TsmProvider for Counting {
        fn name(&self) -> &'static str {
            "fake_guest"
        }
        fn privlevel_floor(&self) -> u32 {
            1
        }
        fn visible(&self, attr: TsmAttr) -> bool {
            attr != TsmAttr::Manifestblob
        }
        fn report_new(&self, desc: &ReportDesc) -> Result<ReportBlobs> {
            let n = self.0.fetch_add(1, Ordering::AcqRel) as u8;
            let mut outblob = desc.inblob.clone();
            outblob.push(n);
            Ok(ReportBlobs { outblob, auxblob: alloc::vec![0xaa], manifestblob: Vec::new() })
        }
    }

    fn id(attr: TsmAttr) -> usize {
        ATTRS.iter().position(|(a, ..)| *a == attr).unwrap()
    }

    fn errno<T>(result: Result<T>) -> Errno {
        result.err().expect("an error").errno()
    }

    #[test]
    fn a_writer_that_laps_the_last_read_gets_ebusy() {
        let mut state = State { write_generation: u64::MAX - 1, read_generation: u64::MAX, ..State::default() };
        assert_eq!(errno(state.advance()), Errno::EBUSY);
        state.read_generation = 10;
        state.advance().unwrap();
        assert_eq!(state.write_generation, u64::MAX);
        state.advance().unwrap();
        assert_eq!(state.write_generation, 0, "wraps like an unsigned long");
    }

    /// One test: the provider slot is global.
    #[test]
    fn generation_caching_and_provider_rules() {
        assert_eq!(errno(ReportGroup.make_item(b"r")), Errno::ENXIO);
        register_provider(Arc::new(Counting(AtomicU32::new(0)))).unwrap();
        assert_eq!(errno(register_provider(Arc::new(Counting(AtomicU32::new(0))))), Errno::EBUSY);
        let (item, attrs) = ReportGroup.make_item(b"r").unwrap();
        let names: Vec<&str> = attrs.iter().map(|a| a.name).collect();
        assert!(names.contains(&"privlevel") && !names.contains(&"manifestblob"), "{names:?}");
        assert_eq!(item.show(id(TsmAttr::Generation)).unwrap(), b"0\n");
        assert_eq!(item.show(id(TsmAttr::Provider)).unwrap(), b"fake_guest\n");
        assert_eq!(item.show(id(TsmAttr::PrivlevelFloor)).unwrap(), b"1\n");
        assert_eq!(errno(item.read_blob(id(TsmAttr::Outblob))), Errno::EINVAL);
        item.write_blob(id(TsmAttr::Inblob), b"nonce").unwrap();
        assert_eq!(item.show(id(TsmAttr::Generation)).unwrap(), b"1\n");
        assert_eq!(item.read_blob(id(TsmAttr::Outblob)).unwrap(), b"nonce\0");
        assert_eq!(item.read_blob(id(TsmAttr::Auxblob)).unwrap(), [0xaa]);
        assert_eq!(item.read_blob(id(TsmAttr::Outblob)).unwrap(), b"nonce\0", "cached");
        assert_eq!(errno(item.store(id(TsmAttr::Privlevel), b"0")), Errno::EINVAL, "below the floor");
        assert_eq!(errno(item.store(id(TsmAttr::Privlevel), b"4")), Errno::EINVAL);
        assert_eq!(errno(item.store(id(TsmAttr::Privlevel), b"two")), Errno::EINVAL);
        assert_eq!(item.show(id(TsmAttr::Generation)).unwrap(), b"1\n", "failed stores do not count");
        assert_eq!(item.store(id(TsmAttr::Privlevel), b"2\n").unwrap(), 2);
        assert_eq!(item.show(id(TsmAttr::Generation)).unwrap(), b"2\n");
        assert_eq!(item.read_blob(id(TsmAttr::Outblob)).unwrap(), b"nonce\x01", "regenerated after a write");
        item.store(id(TsmAttr::ServiceProvider), b"svsm\n").unwrap();
        assert_eq!(errno(item.store(id(TsmAttr::ServiceGuid), b"nope")), Errno::EINVAL);
        assert_eq!(item.show(id(TsmAttr::Generation)).unwrap(), b"4\n", "a bad GUID still advances, as Linux does");
        unregister_provider();
        assert_eq!(errno(item.show(id(TsmAttr::Provider))), Errno::ENXIO);
        assert_eq!(errno(item.read_blob(id(TsmAttr::Outblob))), Errno::ENXIO);
        ReportGroup.drop_item(&item);
    }
}
