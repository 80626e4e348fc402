//! Decoding the one instruction an MMIO #VE (EPT violation on a shared
//! GPA) interrupted, so the handler can redo its access through TDVMCALL.
//! The TDX module gives no instruction length for EPT violations, and the
//! bytes are private kernel text, so the length comes from this decoder
//! alone, never from the host.
//!
//! Accepted: `mov` loads and stores of 1, 2, 4 and 8 bytes (88, 89, 8A,
//! 8B, C6 /0, C7 /0) and `movzx` (0F B6, 0F B7), with an optional 66
//! operand-size prefix and a REX prefix, and any memory ModRM form
//! (SIB, displacements, RIP-relative). Everything else (string moves,
//! lock/rep/segment/address-size prefixes, register-only forms,
//! read-modify-write instructions) is refused: the caller treats it as an
//! unhandled #VE.
//!
//! Owns: the decoding and the register-merge rules (8/16-bit writes keep
//! the other bits, 32-bit writes zero-extend). Pure: host-tested.

/// A general-purpose register as the instruction names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gpr {
    /// 0..=15 in encoding order: RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
    /// R8..R15.
    pub index: u8,
    /// AH, CH, DH or BH (byte operand 4..=7 without a REX prefix): bits
    /// 15:8 of register `index`.
    pub high_byte: bool,
}

/// What the access does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioOp {
    /// Store the low `size` bytes of a register.
    StoreReg(Gpr),
    /// Store an immediate (already truncated to `size`).
    StoreImm(u64),
    /// Load `size` bytes, zero-extended to `dest_size` bytes, into a
    /// register.
    Load { dest: Gpr, dest_size: u8 },
}

/// One decoded MMIO instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioInsn {
    /// Bytes of the access: 1, 2, 4 or 8.
    pub size: u8,
    /// Instruction length in bytes (at most 15).
    pub len: u8,
    pub op: MmioOp,
}

/// Why an instruction was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Ran out of bytes (or past the 15-byte limit).
    Truncated,
    /// A prefix we do not emulate (lock, rep, segment, address size).
    Prefix(u8),
    /// Not one of the accepted opcodes (or the register-only form).
    Opcode(u8),
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn next(&mut self) -> Result<u8, DecodeError> {
        if self.at >= MAX_LEN {
            return Err(DecodeError::Truncated);
        }
        let byte = *self.bytes.get(self.at).ok_or(DecodeError::Truncated)?;
        self.at += 1;
        Ok(byte)
    }
    fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        for _ in 0..n {
            self.next()?;
        }
        Ok(())
    }
    fn immediate(&mut self, n: usize) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for i in 0..n {
            value |= u64::from(self.next()?) << (8 * i);
        }
        Ok(value)
    }
}

/// The architectural maximum instruction length.
pub const MAX_LEN: usize = 15;

/// Decode the instruction at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<MmioInsn, DecodeError> {
    let mut c = Cursor { bytes, at: 0 };
    let mut operand_16 = false;
    let mut rex = 0u8;
    let mut byte = c.next()?;
    loop {
        match byte {
            0x66 => operand_16 = true,
            0xf0 | 0xf2 | 0xf3 | 0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 | 0x67 => return Err(DecodeError::Prefix(byte)),
            _ => break,
        }
        byte = c.next()?;
    }
    if byte & 0xf0 == 0x40 {
        rex = byte;
        byte = c.next()?;
    }
    let rex_w = rex & 0x8 != 0;
    let rex_r = (rex >> 2) & 1;
    let full_size = if rex_w {
        8
    } else if operand_16 {
        2
    } else {
        4
    };
    // (access size, kind, immediate bytes); the ModRM comes next.
    enum Kind {
        Store,
        StoreImm,
        Load { dest_size: u8 },
    }
    let (size, kind, immediate) = match byte {
        0x88 => (1, Kind::Store, 0),
        0x89 => (full_size, Kind::Store, 0),
        0x8a => (1, Kind::Load { dest_size: 1 }, 0),
        0x8b => (full_size, Kind::Load { dest_size: full_size }, 0),
        0xc6 => (1, Kind::StoreImm, 1),
        0xc7 => (full_size, Kind::StoreImm, if full_size == 2 { 2 } else { 4 }),
        0x0f => match c.next()? {
            0xb6 => (1, Kind::Load { dest_size: full_size }, 0),
            0xb7 => (2, Kind::Load { dest_size: full_size }, 0),
            other => return Err(DecodeError::Opcode(other)),
        },
        other => return Err(DecodeError::Opcode(other)),
    };
    let modrm = c.next()?;
    let (mode, reg, rm) = (modrm >> 6, (modrm >> 3) & 7, modrm & 7);
    if mode == 3 {
        return Err(DecodeError::Opcode(byte)); // register operand: no memory access
    }
    if matches!(kind, Kind::StoreImm) && reg != 0 {
        return Err(DecodeError::Opcode(byte)); // C6/C7 /1..7 are not mov
    }
    let mut displacement = match mode {
        1 => 1,
        2 => 4,
        _ => 0,
    };
    if rm == 4 {
        let sib = c.next()?;
        if mode == 0 && sib & 7 == 5 {
            displacement = 4;
        }
    } else if mode == 0 && rm == 5 {
        displacement = 4; // RIP-relative
    }
    c.skip(displacement)?;
    let gpr = |size: u8| {
        let index = reg | (rex_r << 3);
        Gpr { index, high_byte: size == 1 && rex == 0 && (4..8).contains(&index) }
    };
    let op = match kind {
        Kind::Store => MmioOp::StoreReg(gpr(size)),
        Kind::StoreImm => {
            let raw = c.immediate(immediate)?;
            // imm32 of a 64-bit store is sign-extended.
            let value = if size == 8 { raw as u32 as i32 as i64 as u64 } else { raw };
            MmioOp::StoreImm(value & mask(size))
        }
        Kind::Load { dest_size } => MmioOp::Load { dest: gpr(dest_size), dest_size },
    };
    Ok(MmioInsn { size, len: c.at as u8, op })
}

/// The bits a value of `size` bytes may have.
pub fn mask(size: u8) -> u64 {
    match size {
        8 => u64::MAX,
        n => (1u64 << (8 * u32::from(n))) - 1,
    }
}

/// The value a store of `size` bytes from `gpr` writes, given the full
/// register `value`.
pub fn read_gpr(value: u64, gpr: Gpr, size: u8) -> u64 {
    if gpr.high_byte {
        (value >> 8) & 0xff
    } else {
        value & mask(size)
    }
}

/// The register after writing `data` as a `size`-byte destination: 8- and
/// 16-bit writes keep the other bits, 32-bit writes zero-extend.
pub fn write_gpr(old: u64, gpr: Gpr, size: u8, data: u64) -> u64 {
    match size {
        1 if gpr.high_byte => (old & !0xff00) | ((data & 0xff) << 8),
        1 | 2 => (old & !mask(size)) | (data & mask(size)),
        4 => data & mask(4),
        _ => data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(index: u8) -> Gpr {
        Gpr { index, high_byte: false }
    }

    #[test]
    fn loads_and_stores_of_each_size() {
        // mov eax, [rdi]
        assert_eq!(decode(&[0x8b, 0x07]), Ok(MmioInsn { size: 4, len: 2, op: MmioOp::Load { dest: reg(0), dest_size: 4 } }));
        // mov rax, [rdi+0x10]
        assert_eq!(decode(&[0x48, 0x8b, 0x47, 0x10]).unwrap().size, 8);
        // mov word ptr [rdi], r9w  (66 44 89 0f)
        assert_eq!(decode(&[0x66, 0x44, 0x89, 0x0f]), Ok(MmioInsn { size: 2, len: 4, op: MmioOp::StoreReg(reg(9)) }));
        // mov byte ptr [rsi], ah  (88 26)
        assert_eq!(decode(&[0x88, 0x26]).unwrap().op, MmioOp::StoreReg(Gpr { index: 4, high_byte: true }));
        // mov byte ptr [rsi], spl (40 88 26)
        assert_eq!(decode(&[0x40, 0x88, 0x26]).unwrap().op, MmioOp::StoreReg(reg(4)));
        // mov dword ptr [rip+0x1234], 0xdeadbeef (c7 05 disp32 imm32)
        let insn = decode(&[0xc7, 0x05, 0x34, 0x12, 0, 0, 0xef, 0xbe, 0xad, 0xde]).unwrap();
        assert_eq!((insn.len, insn.op), (10, MmioOp::StoreImm(0xdead_beef)));
        // mov qword ptr [rax], -1 (48 c7 00 ff ff ff ff): sign-extended
        assert_eq!(decode(&[0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff]).unwrap().op, MmioOp::StoreImm(u64::MAX));
        // movzx ecx, word ptr [rbx+rsi*4+0x80] (0f b7 8c b3 80 00 00 00)
        let insn = decode(&[0x0f, 0xb7, 0x8c, 0xb3, 0x80, 0, 0, 0]).unwrap();
        assert_eq!((insn.size, insn.len, insn.op), (2, 8, MmioOp::Load { dest: reg(1), dest_size: 4 }));
        // SIB with no base: mov eax, [rcx*8+disp32] (8b 04 cd disp32)
        assert_eq!(decode(&[0x8b, 0x04, 0xcd, 1, 2, 3, 4]).unwrap().len, 7);
    }

    #[test]
    fn everything_else_is_refused() {
        assert_eq!(decode(&[0xa5]), Err(DecodeError::Opcode(0xa5)), "movs");
        assert_eq!(decode(&[0xf3, 0xa5]), Err(DecodeError::Prefix(0xf3)), "rep movs");
        assert_eq!(decode(&[0xf0, 0x01, 0x07]), Err(DecodeError::Prefix(0xf0)));
        assert_eq!(decode(&[0x8b, 0xc0]), Err(DecodeError::Opcode(0x8b)), "register form");
        assert_eq!(decode(&[0xc7, 0x08, 0, 0, 0, 0]), Err(DecodeError::Opcode(0xc7)), "c7 /1");
        assert_eq!(decode(&[0x01, 0x07]), Err(DecodeError::Opcode(0x01)), "add [rdi], eax");
        assert_eq!(decode(&[0x8b]), Err(DecodeError::Truncated));
        assert_eq!(decode(&[0x8b, 0x87, 0, 0]), Err(DecodeError::Truncated), "disp32 cut short");
        assert_eq!(decode(&[0x66; 20]), Err(DecodeError::Truncated), "15-byte limit");
    }

    #[test]
    fn random_bytes_never_panic_and_lengths_stay_in_bounds() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut accepted = 0;
        for _ in 0..200_000 {
            let mut bytes = [0u8; 16];
            for byte in bytes.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = state as u8;
            }
            // Bias towards the accepted opcodes so the deep paths run.
            if state % 2 == 0 {
                bytes[(state >> 8) as usize % 3] = [0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0x0f][(state >> 16) as usize % 7];
            }
            let len = (state >> 24) as usize % 17;
            if let Ok(insn) = decode(&bytes[..len]) {
                accepted += 1;
                assert!(usize::from(insn.len) <= len && insn.len <= 15, "{:02x?} -> {:?}", &bytes[..len], insn);
                assert!(matches!(insn.size, 1 | 2 | 4 | 8));
            }
        }
        assert!(accepted > 1000, "only {} accepted", accepted);
    }

    #[test]
    fn register_merge_rules() {
        let old = 0x1122_3344_5566_7788;
        assert_eq!(write_gpr(old, reg(0), 1, 0xaa), 0x1122_3344_5566_77aa);
        assert_eq!(write_gpr(old, Gpr { index: 4, high_byte: true }, 1, 0xaa), 0x1122_3344_5566_aa88);
        assert_eq!(write_gpr(old, reg(0), 2, 0xaabb), 0x1122_3344_5566_aabb);
        assert_eq!(write_gpr(old, reg(0), 4, 0xaabb_ccdd), 0xaabb_ccdd);
        assert_eq!(read_gpr(old, Gpr { index: 0, high_byte: true }, 1), 0x77);
        assert_eq!(read_gpr(old, reg(0), 2), 0x7788);
    }
}
