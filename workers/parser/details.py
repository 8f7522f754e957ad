"""The facts a report prints about the machine state: CPU/PID/Comm, taint, release, hardware,
registers, the Code: line and the instruction pointer."""

from __future__ import annotations

import re

from workers.report import Report

_CPU = re.compile(
    r"CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.*?) +(?:Not tainted|Tainted: ([A-Z ]*?)) +(\d\S*)"
)
_REGS_REASON = re.compile(r"REGS: [0-9a-f]+ TRAP: ([0-9a-f]+) +(?:Not tainted|Tainted: ([A-Z ]*?)) +\((\S+)\)")
_HARDWARE = re.compile(r"Hardware name: (.*?)\s*$")
# "NAME: value" pairs of register dumps (x86 RAX:, arm64 x29:, ppc NIP:/GPR00:, s390 Krnl GPRS:).
_REG_PAIR = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_]{0,7})\s?:\s+([0-9a-f]{4}:[0-9a-f]{8,16}|[0-9a-f]{8,16}|[0-9a-f]{4,})(?=\s|$)")
_PPC_GPR = re.compile(r"^\s*GPR(\d\d): ((?:[0-9a-f]{8,16}\s*)+)$")
_CODE = re.compile(r"^\s*Code: (.*?)\s*$")
_REG_LINE = re.compile(
    r"^\s*(?:R[A-Z0-9]{2}|E[A-Z]{2}|FS|CS|DS|ES|CR[0-9]|DR[0-9]|x\d+|pc|lr|sp|pstate|NIP|MSR|CFAR|"
    r"IRQMASK|GPR\d\d|XER|CTR|LR|epc|ra|gp|tp|t\d|s\d+|a\d|status|badaddr|cause|Krnl|r\d+|ip|fp|psr)\s*:"
)


def fill_task(report: Report, line: str) -> bool:
    """CPU/PID/Comm/taint/release from a `CPU: 1 PID: 50 Comm: sh Not tainted 6.12.117 #1` line."""
    m = _CPU.search(line)
    if m is None:
        return False
    if report.cpu is None:
        report.cpu, report.pid, report.comm = int(m[1]), int(m[2]), m[3]
        report.taint = (m[4] or "").strip()
        report.release = m[5]
    return True


def fill_line(report: Report, line: str) -> None:
    """Update the report with whatever machine-state fact `line` carries (first value wins)."""
    if "PID:" in line and fill_task(report, line):
        return
    if report.hardware is None and "Hardware name:" in line:
        m = _HARDWARE.search(line)
        if m:
            report.hardware = m[1]
            return
    if report.code is None and "Code:" in line:
        m = _CODE.match(line)
        if m and m[1] and "Bad RIP value" not in m[1] and "Unable to access" not in m[1]:
            report.code = m[1]
            return
    if "REGS:" in line:
        m = _REGS_REASON.search(line)
        if m and report.taint is None:
            report.taint = (m[2] or "").strip()
            report.release = report.release or m[3]
    if _REG_LINE.match(line):
        m = _PPC_GPR.match(line)
        if m:
            base = int(m[1])
            for k, value in enumerate(m[2].split()):
                report.registers.setdefault(f"GPR{base + k:02d}", value)
            return
        for name, value in _REG_PAIR.findall(line):
            report.registers.setdefault(name, value)
