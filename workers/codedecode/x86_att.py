"""objdump's AT&T spelling of capstone's x86 instructions.

capstone and objdump agree on what an instruction is but not always on how to write it: capstone adds
size suffixes objdump leaves out (`movq %r12,%rdi`), drops prefixes the instruction does not use (which
objdump names: `rex`, `data16`, `cs`, `repz`), and leaves implicit operands implicit. This module turns
capstone's text into objdump's.
"""

from __future__ import annotations

import re

import capstone
from capstone import x86_const

_SEGMENTS = {0x26: "es", 0x2E: "cs", 0x36: "ss", 0x3E: "ds", 0x64: "fs", 0x65: "gs"}
_LEGACY = {**_SEGMENTS, 0x66: "data16", 0x67: "addr32", 0xF0: "lock", 0xF2: "repnz", 0xF3: "repz", 0x9B: "fwait"}
_REX_BITS = "WRXB"

# capstone spells some objdump mnemonics differently (AT&T suffixes where objdump has none).
_NO_SUFFIX = {
    "callq": "call", "retq": "ret", "jmpq": "jmp", "pushq": "push", "popq": "pop", "leaveq": "leave",
    "ljmpq": "ljmp", "lcallq": "lcall", "lretq": "lret", "calll": "call", "retl": "ret",
    "jmpl": "jmp", "pushl": "push", "popl": "pop", "leavel": "leave", "popfq": "popf", "pushfq": "pushf",
    "popfl": "popf", "pushfl": "pushf", "lretl": "lret", "iretl": "iret", "fucompi": "fucomip",
    "fcompi": "fcomip", "wait": "fwait", "xlatb": "xlat", "fsetpm": "fnsetpm(287 only)",
    "pushal": "pusha", "popal": "popa", "ljmpl": "ljmp", "lcalll": "lcall",
}
_PREFIX_WORDS = {"repne": "repnz", "repe": "repz"}
_SHIFTS = ("rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar")
# Suffixed names objdump keeps even with a register operand (size conversions).
_KEEP = re.compile(r"^set[a-z]+$|^arpl$|^(movz|movs)[bwl][wlq]$|^c[bwdlq]t[wlq]$|^cqto$|^cltd$|^cwtd$")
_REG = re.compile(r"%([a-z0-9]+)")
_BYTE_REGS = {"spl", "bpl", "sil", "dil"}
_GPR = re.compile(r"[re]?[abcd]x|[abcd][lh]|[re]?(?:si|di|sp|bp)|(?:si|di|sp|bp)l|r\d+[dwb]?")


def rex_name(byte: int) -> str:
    bits = "".join(b for i, b in enumerate(_REX_BITS) if byte & (8 >> i))
    return "rex." + bits if bits else "rex"


def prefix_name(byte: int, bits: int) -> str | None:
    if bits == 64 and 0x40 <= byte <= 0x4F:
        return rex_name(byte)
    if byte == 0x67 and bits == 32:
        return "addr16"
    return _LEGACY.get(byte)


def operands(op_str: str) -> str:
    # objdump: no space after commas, hex immediates and displacements, explicit scale
    text = op_str.replace(", ", ",")
    text = re.sub(r"\$(-?)(\d+)\b", lambda m: f"${m.group(1)}0x{int(m.group(2)):x}", text)
    text = re.sub(r"(?<![\w$x])(-?)(\d+)\(", lambda m: f"{m.group(1)}0x{int(m.group(2)):x}(", text)
    # an explicit scale, except in 16-bit addressing (%bx,%si)
    text = re.sub(r"\((%\w+)?,(%\w+)\)",
                  lambda m: m.group(0) if m.group(2) in ("%si", "%di") else f"({m.group(1) or ''},{m.group(2)},1)", text)
    # absolute addresses and branch targets capstone prints in decimal
    return re.sub(r"(^|,|\*)(\d+)(?=,|$)", lambda m: f"{m.group(1)}0x{int(m.group(2)):x}", text)


def _mnemonic(mnemonic: str, op_str: str) -> str:
    """objdump's name: AT&T size suffix only where no register operand gives the size."""
    words = [_PREFIX_WORDS.get(w, w) for w in mnemonic.split()]
    name = words[-1]
    if re.fullmatch(r"sal[bwlq]?", name):  # objdump knows /6 shifts as shl too
        name = "shl" + name[3:]
    if name in _NO_SUFFIX:
        name = _NO_SUFFIX[name]
    elif name[-1:] in ("b", "w", "l", "q") and len(name) > 2 and not _KEEP.match(name):
        regs = _gprs(op_str)
        if name[:-1] in _SHIFTS and op_str.startswith("%cl,"):  # %cl is the count, not the operand size
            regs = regs[1:]
        if re.search(r"%[c-gs]s\b(?!:)", op_str):  # segment register moves: objdump shows no suffix
            regs = regs or ["seg"]
        if name[:-1] in ("ins", "outs"):  # %dx is the port
            regs = []
        if regs:
            name = name[:-1]
    words[-1] = name
    return " ".join(words)


def _gprs(op_str: str) -> list[str]:
    """General registers named outside memory operands (they give the operand size)."""
    outside = re.sub(r"\([^)]*\)", "", op_str)
    return [r for r in _REG.findall(outside) if _GPR.fullmatch(r)]


class Operands:
    """What the prefix bookkeeping needs from capstone's operand details."""

    def __init__(self, insn: capstone.CsInsn | None):
        self.regs: list[str] = []  # register operands (not inside memory operands)
        self.base: str | None = None
        self.index: str | None = None
        self.sizes: set[int] = set()
        if insn is None:
            return
        for op in insn.operands:
            self.sizes.add(op.size)
            if op.type == x86_const.X86_OP_REG:
                self.regs.append(insn.reg_name(op.reg))
            elif op.type == x86_const.X86_OP_MEM:
                self.base = insn.reg_name(op.mem.base) if op.mem.base else None
                self.index = insn.reg_name(op.mem.index) if op.mem.index else None
                if self.base is None:
                    self.base = ""  # absolute or %rip-less memory: still a memory form


# instructions that use the address size without a memory operand
_ADDR_USERS = ("movs", "stos", "lods", "scas", "cmps", "ins", "outs", "jrcxz", "jecxz", "jcxz", "loop", "xlat",
               "maskmov", "monitor", "clzero", "invlpga", "vmrun", "vmload", "vmsave")

# instructions whose operand size is 64 bits without REX.W: a REX.W on them is unused
_DEFAULT64 = ("push", "pop", "call", "jmp", "ret", "leave", "pushf", "popf", "lret", "enter")


def unused_prefixes(data: bytes, mnemonic: str, op_str: str, bits: int, ops: Operands) -> list[str]:
    """Names of the prefix bytes objdump prints in front of the mnemonic (prefixes it did not use)."""
    i, legacy = 0, []
    while i < len(data) and data[i] in _LEGACY:
        legacy.append(data[i])
        i += 1
    rex = data[i] if bits == 64 and i < len(data) and 0x40 <= data[i] <= 0x4F else None
    opcode_at = i + (rex is not None)
    names: list[str] = []
    base_name = mnemonic.split()[-1]
    # operand size prefix: one is used by a 16-bit operation or as an SSE mandatory prefix
    seen66 = legacy.count(0x66)
    used66 = 1 if seen66 and (2 in ops.sizes or base_name.endswith("w") or _is_sse(data, opcode_at)) else 0
    extra66 = seen66 - used66
    for byte in legacy:
        if byte == 0x66:
            if extra66 > 0:
                names.append("data16")
                extra66 -= 1
        elif byte in (0x2E, 0x3E, 0x26, 0x36) and (bits == 64 or f"%{_SEGMENTS[byte]}:" not in op_str):
            if byte == 0x3E and base_name in ("jmp", "call") and "*" in op_str:
                names.append("notrack")
            else:
                names.append(_SEGMENTS[byte])
        elif byte == 0xF3 and data[opcode_at:opcode_at + 1] in (b"\x88", b"\x89", b"\xc6", b"\xc7") \
                and ops.base is not None:
            names.append("xrelease")  # HLE: a release on a plain store to memory
        elif byte in (0xF2, 0xF3):
            if not (set(mnemonic.split()[:-1]) & {"rep", "repz", "repnz", "bnd", "xacquire", "xrelease"}
                    or _is_sse(data, opcode_at) or mnemonic == "pause"):
                names.append("repz" if byte == 0xF3 else "repnz")
        elif byte == 0x67:
            if ops.base is None and not base_name.startswith(_ADDR_USERS):
                names.append("addr32" if bits == 64 else "addr16")
        elif byte in (0x64, 0x65) and "%" + _SEGMENTS[byte] + ":" not in op_str:
            names.append(_SEGMENTS[byte])
    if rex is not None and _rex_unused(rex, base_name, ops):
        names.append(rex_name(rex))
    return names


def _rex_unused(rex: int, name: str, ops: Operands) -> bool:
    """objdump names a REX prefix when one of its bits changed nothing."""
    if rex == 0x40:  # only needed to reach %sil, %dil, %spl, %bpl
        return not (set(ops.regs) & _BYTE_REGS)
    if rex & 8 and (name.startswith(_DEFAULT64) or (8 not in ops.sizes if ops.sizes else
                                                     not name.endswith(("q", "qo", "qto")))):
        return True
    if rex & 2 and not (ops.index and _extended(ops.index)):
        return True
    if ops.base is not None:  # memory form: B extends the base, R the register operand
        if rex & 1 and not (ops.base and _extended(ops.base)):
            return True
        return bool(rex & 4) and not any(_extended(r) for r in ops.regs)
    return bool(rex & 4) + bool(rex & 1) > sum(_extended(r) for r in ops.regs)


def _extended(reg: str) -> bool:
    m = re.fullmatch(r"r(\d+)[dwb]?|[xyz]mm(\d+)|cr(\d+)|dr(\d+)", reg)
    return bool(m) and int(next(g for g in m.groups() if g is not None)) >= 8


def _is_sse(data: bytes, opcode_at: int) -> bool:
    return data[opcode_at:opcode_at + 1] == b"\x0f" and data[opcode_at + 1:opcode_at + 2] not in (b"\x1f", b"\xb6", b"\xb7", b"\xbe", b"\xbf")


def spell(insn: capstone.CsInsn, bits: int, extra: list[str] | None = None) -> str:
    """objdump's spelling of a decoded instruction: unused prefixes, mnemonic padded to 6, operands."""
    data = bytes(insn.bytes)
    mnemonic, op_str = insn.mnemonic, insn.op_str
    ops_info = Operands(insn)
    if mnemonic == "nop" and data[-1:] == b"\x90" and 0x66 in data:  # objdump: `66 90` is xchg %ax,%ax
        mnemonic, op_str = "xchg", "%ax, %ax"
        ops_info.sizes.add(2)
    mnem = _mnemonic(mnemonic, op_str)
    if mnem == "movslq" and not (bits == 64 and any(0x48 <= b <= 0x4F for b in data[:-2])):
        mnem = "movsxd"  # 63 without REX.W
    names = unused_prefixes(data, mnem, op_str, bits, ops_info)
    ops = operands(op_str)
    for name in names:  # a segment objdump names as a prefix is not repeated on the operand
        ops = ops.replace(f"%{name}:", "")
    ops = _displacement(insn, ops)
    ops = _implicit_operands(mnem, ops, data, bits)
    if "$-" in ops:  # objdump shows immediates as unsigned values of the operand size
        bits_ = _operand_bits(insn.mnemonic, insn.op_str) or bits
        ops = re.sub(r"\$-0x([0-9a-f]+)", lambda m: f"$0x{(1 << bits_) - int(m.group(1), 16):x}", ops)
    if mnem.startswith("j") and not mnem.startswith("jmp") and names and names[-1] in ("cs", "ds"):
        mnem += ",pn" if names.pop() == "cs" else ",pt"  # branch hint prefixes
    if names.count("xrelease") > 1:
        names = ["repz"] * (names.count("xrelease") - 1) + [n for n in names if n != "xrelease"] + ["xrelease"]
    text = " ".join((extra or []) + names + [mnem])
    return f"{text:<6} {ops}" if ops else text


_SUFFIX_BITS = {"b": 8, "w": 16, "l": 32, "q": 64}


def _operand_bits(mnemonic: str, op_str: str) -> int | None:
    name = mnemonic.split()[-1]
    regs = _gprs(op_str)
    if regs:
        r = regs[-1]
        if r.startswith("r") and (r[1:].isdigit() or r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp")):
            return 64
        if r.startswith("e") or r.endswith("d"):
            return 32
        if r.endswith(("l", "h", "b")):
            return 8
        return 16
    return _SUFFIX_BITS.get(name[-1:]) if len(name) > 3 else None


_STRING_SEGMENTS = [(re.compile(r"(?<![:\w])\((%[re]?di)\)"), r"%es:(\1)"),
                    (re.compile(r"(?<![:\w])\((%[re]?si)\)"), r"%ds:(\1)")]
_X87_2OPS = ("fadd", "fmul", "fsub", "fdiv", "fcomi", "fucomi", "fcmov")


def _implicit_operands(mnem: str, ops: str, data: bytes, bits: int) -> str:
    """objdump spells out what capstone leaves implicit: string segments, `(%dx)` ports, `%ds:(%rbx)`
    for xlat, and no `$0x1` on the one-bit shift forms."""
    name = mnem.split()[-1]
    if name.startswith(("stos", "movs", "cmps", "scas", "lods", "ins", "outs")) and not name.startswith("movsx"):
        for pattern, repl in _STRING_SEGMENTS:
            ops = pattern.sub(repl, ops)
    if name.startswith(("in", "out")) and "%dx" in ops:
        ops = ops.replace("%dx", "(%dx)")
    if name == "xlat" and not ops:
        ops = "%ds:(%rbx)" if bits == 64 else "%ds:(%ebx)"
    opcode = data.lstrip(bytes(_LEGACY) + bytes(range(0x40, 0x50)))[:1]
    if opcode in (b"\xd0", b"\xd1") and ops.startswith("$0x1,"):
        ops = ops[5:]
    if opcode[:1] and 0xD8 <= opcode[0] <= 0xDF and name.startswith(_X87_2OPS):
        # objdump writes the implicit stack top as %st: first for dc/de (st(i) op= st), else second
        regs = re.fullmatch(r"(%st\(\d\))(?:,(%st\(\d\)))?", ops)
        if regs:
            i_reg = regs.group(2) if regs.group(2) and opcode[0] in (0xDC, 0xDE) else regs.group(1)
            ops = f"%st,{i_reg}" if opcode[0] in (0xDC, 0xDE) else f"{i_reg},%st"
    if name.startswith("enter"):  # imm16, imm8
        ops = re.sub(r"^\$-0x([0-9a-f]+),", lambda m: f"$0x{0x10000 - int(m.group(1), 16):x},", ops)
        ops = re.sub(r",\$-0x([0-9a-f]+)$", lambda m: f",$0x{0x100 - int(m.group(1), 16):x}", ops)
    if name in ("ljmp", "lcall") and ops.startswith("$"):
        ops = ops.replace(":$", ",$")
    return ops.replace("tbyte ptr ", "")


def _sib(insn: capstone.CsInsn) -> int | None:
    """The SIB byte of a 32/64-bit memory operand, None when the instruction has none."""
    modrm = insn.modrm
    if modrm >> 6 == 3 or modrm & 7 != 4 or _address_bits(insn) == 16 or not insn.operands:
        return None
    if not any(op.type == x86_const.X86_OP_MEM for op in insn.operands):
        return None
    return insn.sib


def _address_bits(insn: capstone.CsInsn) -> int:
    return insn.addr_size * 8


def _displacement(insn: capstone.CsInsn, ops: str) -> str:
    """objdump spells an encoded zero displacement `0x0(...)` and notes where %rip-relative operands point."""
    try:
        modrm, disp = insn.modrm, insn.disp
    except capstone.CsError:
        return ops
    sib = _sib(insn)
    no_base = sib is not None and sib & 7 == 5 and modrm >> 6 == 0  # disp32 and no base register
    if (modrm >> 6 in (1, 2) or "(%rip)" in ops or no_base) and disp == 0 and "(" in ops:
        ops = re.sub(r"(^|[,:*$])\(", r"\g<1>0x0(", ops, count=1)
    if sib is not None and (sib >> 3) & 7 == 4 and not insn.rex & 2:  # a SIB byte without index
        zero = "%riz" if _address_bits(insn) == 64 else "%eiz"
        scale = 1 << (sib >> 6)
        if no_base and _address_bits(insn) == 32:
            ops = ops.replace("()", f"(,{zero},{scale})", 1)
        elif not no_base and (sib & 7 != 4 or scale != 1):  # objdump shows it unless base is %esp-like
            ops = re.sub(r"\((%\w+)\)", lambda m: f"({m.group(1)},{zero},{scale})", ops, count=1)
    if "(%rip)" in ops:
        target = (insn.address + insn.size + disp) & 0xFFFFFFFFFFFFFFFF
        ops += f"        # 0x{target:x}"
    return ops
