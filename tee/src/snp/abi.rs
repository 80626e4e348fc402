//! SEV-SNP numbers: MSRs, the GHCB MSR protocol, NAE exit codes, PVALIDATE
//! return codes, page-state-change and guest-message constants. Every
//! value is pinned by a test (`snp_abi_numbers_are_pinned` in
//! `crate::tests`), checked against AMD's GHCB spec (56421), the SNP
//! firmware ABI (56860) and Linux (`arch/x86/include/asm/sev-common.h`,
//! `arch/x86/include/asm/svm.h`, `include/uapi/linux/sev-guest.h`).
//!
//! Owns: constants only.

/// SEV_STATUS (MSR_AMD64_SEV): bit 0 SEV, bit 1 SEV-ES, bit 2 SEV-SNP.
pub const MSR_SEV_STATUS: u32 = 0xc001_0131;
pub const SEV_STATUS_SEV: u64 = 1 << 0;
pub const SEV_STATUS_ES: u64 = 1 << 1;
pub const SEV_STATUS_SNP: u64 = 1 << 2;
/// The GHCB MSR (MSR_AMD64_SEV_ES_GHCB): a GHCB GPA, or an MSR-protocol
/// request/response.
pub const MSR_GHCB: u32 = 0xc001_0130;

/// CPUID leaf with SEV features (EAX bit 4 SNP) and the C-bit (EBX[5:0]).
pub const CPUID_SEV_LEAF: u32 = 0x8000_001f;
pub const CPUID_SEV_EAX_SNP: u32 = 1 << 4;

/// GHCB MSR protocol: low 12 bits are the function, the rest data.
pub mod msr_proto {
    pub const INFO_MASK: u64 = 0xfff;
    pub const SEV_INFO_RESP: u64 = 0x001;
    pub const SEV_INFO_REQ: u64 = 0x002;
    pub const CPUID_REQ: u64 = 0x004;
    pub const CPUID_RESP: u64 = 0x005;
    pub const REG_GPA_REQ: u64 = 0x012;
    pub const REG_GPA_RESP: u64 = 0x013;
    pub const PSC_REQ: u64 = 0x014;
    pub const PSC_RESP: u64 = 0x015;
    pub const HV_FT_REQ: u64 = 0x080;
    pub const HV_FT_RESP: u64 = 0x081;
    pub const TERM_REQ: u64 = 0x100;
    /// Hypervisor feature bit: SNP.
    pub const HV_FT_SNP: u64 = 1 << 0;
    /// Hypervisor feature bit: AP creation NAE.
    pub const HV_FT_SNP_AP_CREATION: u64 = 1 << 1;
    /// The GHCB protocol version this guest speaks (SNP needs 2).
    pub const PROTOCOL_VERSION: u64 = 2;
    /// Termination reason sets: 0 general, 1 Linux-defined codes (we use
    /// Linux's: the host side already knows them).
    pub const TERM_SET_GEN: u64 = 0;
    pub const TERM_SET_LINUX: u64 = 1;
    pub const TERM_REGISTER: u64 = 0;
    pub const TERM_PSC: u64 = 1;
    pub const TERM_PVALIDATE: u64 = 2;
    pub const TERM_SECRETS_PAGE: u64 = 6;
    /// Error bit of a PSC response (GHCBData bit 63).
    pub const PSC_RESP_ERROR_SHIFT: u32 = 32;
}

/// Page state change operations (MSR protocol bits 55:52, PSC entries).
pub const PSC_OP_PRIVATE: u64 = 1;
pub const PSC_OP_SHARED: u64 = 2;
/// Entries one GHCB PSC request holds: (2032 - 8) / 8.
pub const PSC_MAX_ENTRIES: usize = 253;

/// Non-automatic exit codes (SW_EXITCODE).
pub mod exit {
    pub const CPUID: u64 = 0x72;
    pub const IOIO: u64 = 0x7b;
    pub const MSR: u64 = 0x7c;
    pub const MMIO_READ: u64 = 0x8000_0001;
    pub const MMIO_WRITE: u64 = 0x8000_0002;
    pub const PSC: u64 = 0x8000_0010;
    pub const GUEST_REQUEST: u64 = 0x8000_0011;
    pub const EXT_GUEST_REQUEST: u64 = 0x8000_0012;
    pub const AP_CREATION: u64 = 0x8000_0013;
}

/// SW_EXITINFO1 for IOIO: port in 31:16, direction and sizes below
/// (the SVM IOIO exit-information format).
pub mod ioio {
    pub const TYPE_IN: u64 = 1 << 0;
    pub const STRING: u64 = 1 << 2;
    pub const REP: u64 = 1 << 3;
    pub const SZ8: u64 = 1 << 4;
    pub const SZ16: u64 = 1 << 5;
    pub const SZ32: u64 = 1 << 6;
    pub const A16: u64 = 1 << 7;
    pub const PORT_SHIFT: u32 = 16;
}

/// PVALIDATE: ECX page size, RAX return codes (RFLAGS.CF = 1: no change).
pub mod pvalidate {
    pub const SIZE_4K: u32 = 0;
    pub const SIZE_2M: u32 = 1;
    pub const SUCCESS: u32 = 0;
    pub const FAIL_INPUT: u32 = 1;
    pub const FAIL_PERMISSION: u32 = 2;
    pub const FAIL_SIZEMISMATCH: u32 = 6;
    /// Linux's value for "CF set: the RMP entry was already in that state".
    pub const FAIL_NOUPDATE: u32 = 255;
}

/// SNP guest messages (firmware ABI, chapter "SNP_GUEST_REQUEST").
pub mod msg {
    pub const HEADER_SIZE: usize = 0x60;
    /// The whole message is one 4 KiB page.
    pub const PAGE_SIZE: usize = 4096;
    pub const MAX_PAYLOAD: usize = PAGE_SIZE - HEADER_SIZE;
    pub const AUTHTAG_LEN: usize = 16;
    pub const AAD_START: usize = 0x30;
    pub const SEQNO: usize = 0x20;
    pub const ALGO: usize = 0x30;
    pub const HDR_VERSION: usize = 0x31;
    pub const HDR_SZ: usize = 0x32;
    pub const MSG_TYPE: usize = 0x34;
    pub const MSG_VERSION: usize = 0x35;
    pub const MSG_SZ: usize = 0x36;
    pub const MSG_VMPCK: usize = 0x3c;
    pub const ALGO_AES_256_GCM: u8 = 1;
    pub const HDR_VERSION_1: u8 = 1;
    pub const TYPE_KEY_REQ: u8 = 3;
    pub const TYPE_KEY_RSP: u8 = 4;
    pub const TYPE_REPORT_REQ: u8 = 5;
    pub const TYPE_REPORT_RSP: u8 = 6;
    /// REPORT_REQ: report_data[64], vmpl u32, reserved[28].
    pub const REPORT_REQ_SIZE: usize = 96;
    /// REPORT_RSP: status u32, report_size u32, reserved[24], report.
    pub const REPORT_RSP_HEADER: usize = 32;
    /// KEY_REQ: root_key_select u32, rsvd u32, guest_field_select u64,
    /// vmpl u32, guest_svn u32, tcb_version u64.
    pub const KEY_REQ_SIZE: usize = 32;
    /// KEY_RSP: status u32, reserved[28], derived key[32].
    pub const KEY_RSP_SIZE: usize = 64;
}

/// SW_EXITINFO2 of a guest request: firmware error in bits 31:0, VMM
/// error in 63:32 (Linux's SNP_GUEST_VMM_ERR_*).
pub const GUEST_REQ_VMM_ERR_SHIFT: u32 = 32;
pub const GUEST_REQ_VMM_ERR_INVALID_LEN: u64 = 1;
pub const GUEST_REQ_VMM_ERR_BUSY: u64 = 2;
/// SEV firmware status SEV_RET_INVALID_PARAM (Linux `psp-sev.h`).
pub const FW_ERR_INVALID_PARAM: u32 = 0x16;

/// The secrets page (firmware ABI, "Secrets Page Format", version 2/3).
pub mod secrets {
    pub const VERSION: usize = 0x0;
    pub const IMI_EN: usize = 0x4;
    pub const FMS: usize = 0x8;
    pub const GOSVW: usize = 0x10;
    /// VMPCK n at 0x20 + 32 n.
    pub const VMPCK0: usize = 0x20;
    pub const VMPCK_LEN: usize = 32;
    pub const VMPCK_COUNT: usize = 4;
    /// OS area: msg_seqno_0..3 (u32 each) first.
    pub const OS_AREA: usize = 0xa0;
}

/// The attestation report (firmware ABI, table "ATTESTATION_REPORT").
pub mod report {
    pub const SIZE: usize = 0x4a0;
    pub const VERSION: usize = 0x0;
    pub const GUEST_SVN: usize = 0x4;
    pub const POLICY: usize = 0x8;
    pub const FAMILY_ID: usize = 0x10;
    pub const IMAGE_ID: usize = 0x20;
    pub const VMPL: usize = 0x30;
    pub const SIGNATURE_ALGO: usize = 0x34;
    pub const CURRENT_TCB: usize = 0x38;
    pub const PLATFORM_INFO: usize = 0x40;
    pub const FLAGS: usize = 0x48;
    pub const REPORT_DATA: usize = 0x50;
    pub const MEASUREMENT: usize = 0x90;
    pub const HOST_DATA: usize = 0xc0;
    pub const ID_KEY_DIGEST: usize = 0xe0;
    pub const AUTHOR_KEY_DIGEST: usize = 0x110;
    pub const REPORT_ID: usize = 0x140;
    pub const REPORT_ID_MA: usize = 0x160;
    pub const REPORTED_TCB: usize = 0x180;
    /// Version 3: CPUID family, model, stepping of the chip.
    pub const CPUID_FAM_ID: usize = 0x188;
    pub const CPUID_MOD_ID: usize = 0x189;
    pub const CPUID_STEP: usize = 0x18a;
    pub const CHIP_ID: usize = 0x1a0;
    pub const COMMITTED_TCB: usize = 0x1e0;
    pub const CURRENT_BUILD: usize = 0x1e8;
    pub const LAUNCH_TCB: usize = 0x1f0;
    pub const SIGNATURE: usize = 0x2a0;
    /// r and s, each 72 bytes little-endian (48 used for P-384).
    pub const SIGNATURE_COMPONENT: usize = 72;
    /// ECDSA P-384 with SHA-384.
    pub const SIG_ALGO_ECDSA_P384_SHA384: u32 = 1;
    /// The report version this emulator writes (and the newest this
    /// guest parses field by field).
    pub const VERSION_3: u32 = 3;
}
