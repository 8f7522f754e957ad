"""objdump's powerpc spelling of capstone's output: decimal immediates, extended mnemonics."""

from __future__ import annotations

import re

# special registers objdump names in mfspr/mtspr (number -> name, and whether mt has a name too)
_SPRS = {1: ("xer", True), 8: ("lr", True), 9: ("ctr", True), 18: ("dsisr", True), 19: ("dar", True),
         22: ("dec", True), 26: ("srr0", True), 27: ("srr1", True), 304: ("hsprg0", True),
         305: ("hsprg1", True), 314: ("hsrr0", True), 315: ("hsrr1", True), 287: ("pvr", False),
         268: ("tb", False), 269: ("tbu", False), 256: ("vrsave", True)}
_SPRG = {272: 0, 273: 1, 274: 2, 275: 3}


def spell(mnemonic: str, op_str: str) -> tuple[str, str]:
    """objdump's powerpc spelling: immediates and displacements in decimal (branch targets hex), and
    the extended mnemonics objdump prefers (mr., not, clrrdi, srdi, mtsrr0, hwsync, ...)."""
    if mnemonic.endswith(".") and mnemonic not in ("or.",):  # the record forms take the same aliases
        name, ops = spell(mnemonic[:-1], op_str)
        return name + ".", ops
    ops = op_str.replace(", ", ",")
    if mnemonic.startswith("b"):
        ops = re.sub(r"(^|,)(\d+)$", lambda m: f"{m.group(1)}0x{int(m.group(2)):x}", ops)
    else:
        ops = re.sub(r"(-?)0x([0-9a-f]+)", lambda m: f"{m.group(1)}{int(m.group(2), 16)}", ops)
    parts = ops.split(",")
    nums = [int(p) if re.fullmatch(r"-?\d+", p) else None for p in parts]
    if mnemonic == "sync" and not ops:
        return "hwsync", ""
    if mnemonic in ("or.", "nor") and len(parts) == 3 and parts[1] == parts[2]:
        return ("mr." if mnemonic == "or." else "not"), ",".join(parts[:2])
    if mnemonic in ("mfspr", "mtspr") and len(parts) == 2:
        spr = nums[1] if mnemonic == "mfspr" else nums[0]
        reg = parts[0] if mnemonic == "mfspr" else parts[1]
        if spr in _SPRS and (mnemonic == "mfspr" or _SPRS[spr][1]):
            return mnemonic[:2] + _SPRS[spr][0], reg
        if spr in _SPRG:
            return (mnemonic[:2] + "sprg",
                    f"{reg},{_SPRG[spr]}" if mnemonic == "mfspr" else f"{_SPRG[spr]},{reg}")
    if mnemonic in ("rldicl", "rldicr", "rlwinm") and None not in nums[2:] and len(parts) >= 4:
        sh, mb = nums[2], nums[3]
        if mnemonic == "rldicl":
            if mb == 0:
                return "rotldi", ",".join(parts[:3])
            if sh == 0:
                return "clrldi", ",".join(parts[:2] + [parts[3]])
            if sh + mb == 64:
                return "srdi", ",".join(parts[:2] + [parts[3]])
        elif mnemonic == "rldicr":
            if sh == 0:
                return "clrrdi", ",".join(parts[:2] + [str(63 - mb)])
            if sh + mb == 63:
                return "sldi", ",".join(parts[:3])
        elif len(parts) == 5 and sh == 0 and mb == 0:
            return "clrrwi", ",".join(parts[:2] + [str(31 - nums[4])])
    return mnemonic, ops
