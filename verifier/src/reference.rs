//! Reference values: what an honest Umbra guest's evidence must show, as
//! `umbra-verify measure` computes them from the kernel ELF, the command
//! line and the initramfs, stored as JSON:
//!
//! ```json
//! { "format": "umbra-reference-v1",
//!   "mrtd": "<96 hex>",
//!   "snp_measurement": "<96 hex>",
//!   "events": [ { "mr_index": 3, "digest": "<96 hex>", "description": "kernel command line" } ] }
//! ```
//! Every key but "format" is optional; what is absent is not checked.
//!
//! # What is measured (the contract with the guest side)
//! - MRTD (tdx-emu, tee/src/emu/measure.rs): SHA-384 over the kernel's
//!   loaded bytes from `__text_start` to `__data_start` (text, rodata,
//!   ktests: kernel/linker.ld), i.e. the ELF's PT_LOAD contents at those
//!   physical addresses, gaps zero-filled as the image builder does.
//! - snp_measurement (snp-emu, tee/src/emu/snp/attest.rs): the SNP launch
//!   digest ([`snp_launch_digest`]) over the same bytes, loaded at their
//!   physical address with the kernel at KERNEL_PHYS. A real SNP launch
//!   digest (OVMF + kernel-hashes table) is not computed here yet.
//! - Events (CCEL, CC MR index 3 = RTMR2, proposed for the guest's boot
//!   measurement): SHA-384 of the kernel command line bytes exactly as
//!   the kernel got them (no trailing NUL), and SHA-384 of the initramfs
//!   file. The verifier matches events by (MR index, SHA-384 digest); the
//!   event type and data are informational.

use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Endianness, Object, ObjectSymbol};
use serde_json::{json, Value};
use sha2::{Digest, Sha384};

use crate::bytes::{hex, unhex};

pub const FORMAT: &str = "umbra-reference-v1";
/// kernel/linker.ld: the higher-half offset and the payload's load address.
pub const KERNEL_VMA_OFFSET: u64 = 0xffff_ffff_8000_0000;
/// CC MR index of RTMR2 in a CCEL.
pub const MR_INDEX_RTMR2: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedEvent {
    pub mr_index: u32,
    pub digest: [u8; 48],
    pub description: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reference {
    pub mrtd: Option<[u8; 48]>,
    pub snp_measurement: Option<[u8; 48]>,
    pub events: Vec<ExpectedEvent>,
}

pub fn sha384(data: &[u8]) -> [u8; 48] {
    Sha384::digest(data).into()
}

fn digest48(v: &Value, key: &str) -> Result<Option<[u8; 48]>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let bytes = unhex(s).filter(|b| b.len() == 48).ok_or(format!("{key}: not 48 bytes of hex"))?;
            let mut out = [0u8; 48];
            out.copy_from_slice(&bytes);
            Ok(Some(out))
        }
        Some(_) => Err(format!("{key}: not a string")),
    }
}

impl Reference {
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "format": FORMAT });
        if let Some(m) = &self.mrtd {
            v["mrtd"] = json!(hex(m));
        }
        if let Some(m) = &self.snp_measurement {
            v["snp_measurement"] = json!(hex(m));
        }
        v["events"] = self
            .events
            .iter()
            .map(|e| json!({ "mr_index": e.mr_index, "digest": hex(&e.digest), "description": e.description }))
            .collect();
        v
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("reference JSON: {e}"))?;
        if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(format!("reference JSON: \"format\" is not \"{FORMAT}\""));
        }
        let mut events = Vec::new();
        if let Some(list) = v.get("events") {
            let list = list.as_array().ok_or("events: not a list")?;
            for e in list {
                let mr_index = e.get("mr_index").and_then(Value::as_u64).filter(|i| *i <= 4).ok_or("event: mr_index 0..4 needed")?;
                let digest = digest48(e, "digest")?.ok_or("event: digest needed")?;
                let description = e.get("description").and_then(Value::as_str).unwrap_or("").to_string();
                events.push(ExpectedEvent { mr_index: mr_index as u32, digest, description });
            }
        }
        Ok(Self { mrtd: digest48(&v, "mrtd")?, snp_measurement: digest48(&v, "snp_measurement")?, events })
    }
}

/// Where the loader puts the kernel's first byte (kernel/linker.ld
/// KERNEL_PHYS; SeaBIOS boots, which the emulators use, load it there).
pub const KERNEL_PHYS: u64 = 0x100_0000;

/// The kernel's measured bytes, [__text_start, __data_start), and the
/// physical address they load at (with the kernel at KERNEL_PHYS).
pub fn kernel_measured_bytes(elf: &[u8]) -> Result<(Vec<u8>, u64), String> {
    let file = ElfFile64::<Endianness>::parse(elf).map_err(|e| format!("kernel ELF: {e}"))?;
    let symbol = |name: &str| {
        file.symbols().find(|s| s.name() == Ok(name)).map(|s| s.address()).ok_or(format!("kernel ELF: no symbol {name}"))
    };
    let start = symbol("__text_start")?.wrapping_sub(KERNEL_VMA_OFFSET);
    let end = symbol("__data_start")?.wrapping_sub(KERNEL_VMA_OFFSET);
    let len = end.checked_sub(start).filter(|l| *l <= 512 << 20).ok_or("kernel ELF: __data_start is not just above __text_start")?;
    let mut image = vec![0u8; len as usize];
    let endian = file.endian();
    for header in file.elf_program_headers() {
        if header.p_type(endian) != object::elf::PT_LOAD {
            continue;
        }
        let paddr = header.p_paddr(endian);
        let data = header.data(endian, elf).map_err(|_| "kernel ELF: segment outside the file")?;
        // Copy the overlap of [paddr, paddr + len(data)) with [start, end).
        let lo = paddr.max(start);
        let hi = paddr.saturating_add(data.len() as u64).min(end);
        if lo < hi {
            let src = &data[(lo - paddr) as usize..(hi - paddr) as usize];
            image[(lo - start) as usize..(hi - start) as usize].copy_from_slice(src);
        }
    }
    Ok((image, start))
}

/// MRTD of a kernel ELF as tdx-emu measures it.
pub fn kernel_mrtd(elf: &[u8]) -> Result<[u8; 48], String> {
    Ok(sha384(&kernel_measured_bytes(elf)?.0))
}

/// SNP launch digest of `image` loaded at `gpa`, as snp-emu computes it
/// (the firmware's SNP_LAUNCH_UPDATE chaining, ABI 56860 PAGE_INFO): per
/// 4 KiB page (the last zero-padded), PAGE_INFO = digest so far (48) ||
/// SHA-384(page) (48) || length 0x70 (u16) || page type 1 (NORMAL) ||
/// IMI 0 || VMPL3/2/1 permissions 0 || reserved || GPA (u64); the digest
/// becomes SHA-384(PAGE_INFO).
pub fn snp_launch_digest(image: &[u8], gpa: u64) -> [u8; 48] {
    let mut digest = [0u8; 48];
    for (i, page) in image.chunks(4096).enumerate() {
        let mut padded = [0u8; 4096];
        padded[..page.len()].copy_from_slice(page);
        let mut info = [0u8; 0x70];
        info[..48].copy_from_slice(&digest);
        info[48..96].copy_from_slice(&sha384(&padded));
        info[0x60..0x62].copy_from_slice(&0x70u16.to_le_bytes());
        info[0x62] = 1;
        info[0x68..0x70].copy_from_slice(&gpa.wrapping_add(i as u64 * 4096).to_le_bytes());
        digest = sha384(&info);
    }
    digest
}

/// MEASUREMENT of a kernel ELF as snp-emu reports it.
pub fn kernel_snp_measurement(elf: &[u8]) -> Result<[u8; 48], String> {
    let (image, gpa) = kernel_measured_bytes(elf)?;
    Ok(snp_launch_digest(&image, gpa))
}

/// Reference values for a kernel ELF, a command line and an initramfs.
pub fn compute(kernel_elf: Option<&[u8]>, cmdline: Option<&[u8]>, initramfs: Option<&[u8]>) -> Result<Reference, String> {
    let mut r = Reference::default();
    if let Some(elf) = kernel_elf {
        r.mrtd = Some(kernel_mrtd(elf)?);
        r.snp_measurement = Some(kernel_snp_measurement(elf)?);
    }
    if let Some(c) = cmdline {
        r.events.push(ExpectedEvent { mr_index: MR_INDEX_RTMR2, digest: sha384(c), description: "kernel command line".into() });
    }
    if let Some(i) = initramfs {
        r.events.push(ExpectedEvent { mr_index: MR_INDEX_RTMR2, digest: sha384(i), description: "initramfs".into() });
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let r = compute(None, Some(b"console=ttyS0"), Some(b"070701...")).unwrap();
        let text = r.to_json().to_string();
        assert_eq!(Reference::from_json(&text).unwrap(), r);
        assert!(Reference::from_json("{}").is_err());
        assert!(Reference::from_json(r#"{"format":"umbra-reference-v1","mrtd":"00"}"#).is_err());
    }
}

#[cfg(test)]
mod launch_digest_tests {
    use super::*;

    #[test]
    fn launch_digest_chains_pages_and_gpas() {
        let image: Vec<u8> = (0..2 * 4096 + 5).map(|i| (i % 251) as u8).collect();
        let d = snp_launch_digest(&image, KERNEL_PHYS);
        assert_ne!(d, snp_launch_digest(&image, KERNEL_PHYS + 4096), "the GPA is measured");
        let mut changed = image.clone();
        changed[2 * 4096 + 4] ^= 1;
        assert_ne!(d, snp_launch_digest(&changed, KERNEL_PHYS), "the partial last page is measured");
        // One page by hand: PAGE_INFO over a zero digest.
        let page = [7u8; 4096];
        let mut info = [0u8; 0x70];
        info[48..96].copy_from_slice(&sha384(&page));
        info[0x60] = 0x70;
        info[0x62] = 1;
        info[0x68..0x70].copy_from_slice(&KERNEL_PHYS.to_le_bytes());
        assert_eq!(snp_launch_digest(&page, KERNEL_PHYS), sha384(&info));
    }
}
