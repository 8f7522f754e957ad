"""The report kinds: how each crash report starts, and how its title is built.

Modelled on syzkaller's pkg/report/linux.go so that titles match syzbot's: an `Oops` is a header
string found in a line (`BUG:`, `WARNING:`, `general protection fault`, ...) plus the lines that look
like it but are not crashes; each `Fmt` is a title regex (searched from the header on; the earliest
match wins), an optional multi-line `report` regex whose groups feed the title, and a stack recipe
(`parts`) that finds the guilty frame appended as the last title argument.

Stack recipe parts: RIP (the first RIP/pc/NIP line), CALL (the next `Call Trace:`), STACK (frames up
to the next stack start), or any regex with a FUNC group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PC = r"\[<?(?:0x)?[0-9a-f]+>?\]"
FUNC = r"\.?([a-zA-Z0-9_]+)(?:\.|\+)"
SRC = r"([a-zA-Z0-9\-_/.]+\.[a-z]+:[0-9]+)"


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace("{{PC}}", PC).replace("{{FUNC}}", FUNC).replace("{{SRC}}", SRC))


RIP = rx(
    r"(?:IP|NIP|pc |PC is at|epc ):? (?:(?:[0-9a-f]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9a-f]+:)?0x[0-9a-f]+"
    r"|(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))"
)
CALL = rx(r"(?:Call (?:T|t)race:)|(?:Backtrace:)")
STACK = None  # marker: parse frames until the next stack start

STACK_START = re.compile(
    r"Call (?:T|t)race|Allocated:|Allocated by task \d+:|Freed:|Freed by task \d+:|[^k] backtrace:"
    r"|^backtrace:|Backtrace:|Uninit was stored to memory at|Uninit was created at|Memory state around"
    r"|Last potentially related work creation:|Second to last potentially related work creation:"
)


@dataclass
class Fmt:
    title: re.Pattern[str]
    fmt: str  # str.format with positional arguments: the regex groups, then the frame
    kind: str = ""
    report: re.Pattern[str] | None = None
    parts: list | None = None  # None: no stack, the title does not name a frame
    parts2: list | None = None  # tried when `parts` finds no frame
    skip: list[str] = field(default_factory=list)
    extractor: str = "first"  # first | stall | hang
    corrupted: bool = False
    alt: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.skip_re = re.compile("|".join(self.skip)) if self.skip else None


@dataclass
class Oops:
    header: str
    kind: str
    formats: list[Fmt]
    suppressions: list[re.Pattern[str]] = field(default_factory=list)


RIP_STACK = [RIP, CALL, STACK]
CALL_STACK = [CALL, STACK]
STALL_PARTS = [rx("apic_timer_interrupt|el1h_64_irq|__irq_svc"), RIP, STACK]
STALL_PARTS2 = [rx("apic_timer_interrupt|Exception stack|el1h_64_irq"), STACK]
LOCK_AT = rx(r"at: (?:{{PC}} +)?{{FUNC}}")
BAD_ACCESS = ["bad-access in {0}"]
# Allocation helpers: a leak is blamed on the code that asked for the memory.
LEAK_SKIP = ["kmemleak", "create_object", "mmap", "kmalloc", "kmem_cache", "kzalloc", "kcalloc", "kmemdup",
             "kstrdup", "alloc", "__vmalloc", "vmalloc", "vzalloc", "krealloc", "slab_post_alloc", "memdup",
             "kvmalloc", "^kv", "sock_", "kobject_", "^pcpu_", "list_lru_init"]

_KASAN_ACCESS = (
    r"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)"
)

OOPSES: list[Oops] = [
    Oops("BUG:", "BUG", [
        Fmt(rx("BUG: KASAN:"), "KASAN: {0} {2} in {3}", "KASAN", report=rx(_KASAN_ACCESS),
            parts=[rx("BUG: KASAN: (?:[a-z\\-]+) in {{FUNC}}"), CALL, STACK],
            alt=["bad-access in {3}"]),
        Fmt(rx("BUG: KASAN:"), "KASAN: invalid-free in {2}", "KASAN",
            report=rx("BUG: KASAN: (double-free or invalid-free|double-free|invalid-free) in {{FUNC}}"),
            parts=[CALL, STACK], skip=["kmem_", "slab_", "kfree", "kvfree", "vunmap", "vfree"],
            alt=["invalid-free in {2}"]),
        Fmt(rx("BUG: KASAN: ([a-z\\-]+) on address(?:.*\\n)+?.*(Read|Write) of size ([0-9]+)"),
            "KASAN: {0} {1}", "KASAN"),
        Fmt(rx("BUG: KASAN: (.*?) in {{FUNC}}"), "KASAN: {0} in {1}", "KASAN", corrupted=True,
            parts=[rx("BUG: KASAN: (?:.*?) in {{FUNC}}"), CALL, STACK]),
        Fmt(rx("BUG: KASAN: ([a-z\\-]+) on address"), "KASAN: {0} Read", "KASAN", corrupted=True),
        Fmt(rx("BUG: KMSAN: kernel-usb-infoleak"), "KMSAN: kernel-usb-infoleak in {0}", "KMSAN",
            parts=CALL_STACK, skip=["usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg",
                                    "usb_interrupt_msg", "usb_control_msg"], alt=BAD_ACCESS),
        Fmt(rx("BUG: KMSAN: ([a-z\\-]+) in "), "KMSAN: {0} in {1}", "KMSAN",
            parts=[rx("BUG: KMSAN: (?:[a-z\\-]+) in "), STACK], parts2=CALL_STACK,
            skip=["alloc_skb", "netlink_ack", "netlink_rcv_skb", "copy_to_user", "copy_page_to_iter",
                  "_copy_to_iter", "simple_copy_to_iter", "copyout", "instrument_copy", "kmsan"],
            alt=["bad-access in {1}"]),
        Fmt(rx("BUG: KCSAN: data-race in"), "KCSAN: data-race in {0}", "KCSAN",
            report=rx("BUG: KCSAN: data-race in {{FUNC}}"), alt=[]),
        Fmt(rx("BUG: KCSAN: ([a-z\\-: ]+?) in"), "KCSAN: {0} in {1}", "KCSAN",
            parts=[rx("BUG: KCSAN: (?:[a-z\\-: ]+?) in "), STACK]),
        Fmt(rx("BUG: KFENCE: (use-after-free|out-of-bounds|invalid) (read|write) in"),
            "KFENCE: {0} {1} in {2}", "KFENCE", parts=[rx("BUG: KFENCE: "), STACK],
            alt=["bad-access in {2}"]),
        Fmt(rx("BUG: KFENCE: invalid free in"), "KFENCE: invalid free in {0}", "KFENCE",
            parts=[rx("BUG: KFENCE: "), STACK], alt=["invalid-free in {0}"]),
        Fmt(rx("BUG: KFENCE: memory corruption in"), "KFENCE: memory corruption in {0}", "KFENCE",
            parts=[rx("BUG: KFENCE: "), STACK], skip=["^test_"]),
        Fmt(rx("BUG: KFENCE: ([a-z\\- ]+) in"), "KFENCE: {0} in {1}", "KFENCE",
            parts=[rx("BUG: KFENCE: "), STACK]),
        Fmt(rx("BUG: (?:unable to handle page fault|unable to handle kernel paging request)"),
            "BUG: unable to handle kernel paging request in {0}", "BUG", parts=RIP_STACK, alt=BAD_ACCESS),
        Fmt(rx("BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference)"),
            "BUG: unable to handle kernel NULL pointer dereference in {0}", "BUG", parts=RIP_STACK,
            alt=BAD_ACCESS),
        # powerpc: "BUG: Kernel NULL pointer dereference on write at 0x00000000",
        # "BUG: Unable to handle kernel data access on write at ...", "... instruction fetch".
        Fmt(rx("BUG: Kernel NULL pointer dereference (?:on (?:read|write) )?at"),
            "BUG: unable to handle kernel NULL pointer dereference in {0}", "BUG", parts=RIP_STACK,
            alt=BAD_ACCESS),
        Fmt(rx("BUG: Unable to handle kernel (?:data access|instruction fetch)"),
            "BUG: unable to handle kernel paging request in {0}", "BUG", parts=RIP_STACK, alt=BAD_ACCESS),
        Fmt(rx("BUG: (?:unable to handle kernel|kernel)"), "BUG: unable to handle kernel", "BUG",
            corrupted=True),
        Fmt(rx("BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic"
               "|wrong owner|wrong CPU|trylock failure on UP)"), "BUG: {0} {1} in {2}", "BUG",
            parts=CALL_STACK, skip=["spin_", "_lock", "_unlock"]),
        Fmt(rx("BUG: soft lockup"), "BUG: soft lockup in {0}", "lockup", parts=RIP_STACK,
            extractor="stall", alt=["stall in {0}"]),
        Fmt(rx("BUG: .*still has locks held!"), "BUG: still has locks held in {0}", "lockdep",
            report=rx(r"BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}}")),
        Fmt(rx("BUG: lock held when returning to user space"),
            "BUG: lock held when returning to user space in {0}", "lockdep",
            report=rx(r"BUG: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with "
                      r"locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}")),
        Fmt(rx("BUG: bad unlock balance detected!"), "BUG: bad unlock balance in {0}", "lockdep",
            report=rx(r"BUG: bad unlock balance detected!(?:.*\n){0,15}?.*is trying to release lock"
                      r".*\n(?:.*\n){0,15}?(?:.*{{PC}} +|\s*|.*at: ){{FUNC}}")),
        Fmt(rx("BUG: held lock freed!"), "BUG: held lock freed in {0}", "lockdep",
            report=rx(r"BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}}")),
        Fmt(rx("BUG: Bad rss-counter state"), "BUG: Bad rss-counter state", "BUG"),
        Fmt(rx("BUG: non-zero nr_ptes on freeing mm"), "BUG: non-zero nr_ptes on freeing mm", "BUG"),
        Fmt(rx("BUG: non-zero nr_pmds on freeing mm"), "BUG: non-zero nr_pmds on freeing mm", "BUG"),
        Fmt(rx(r"BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]"),
            "BUG: Dentry still in use in {0}", "BUG", alt=["BUG: Dentry still in use [{0} of {1}]"]),
        Fmt(rx("BUG: Bad page state"), "BUG: Bad page state in {0}", "BUG", parts=CALL_STACK),
        Fmt(rx("BUG: Bad page map"), "BUG: Bad page map in {0}", "BUG", parts=CALL_STACK),
        Fmt(rx("BUG: Bad page cache"), "BUG: Bad page cache in {0}", "BUG", parts=CALL_STACK),
        Fmt(rx("BUG: workqueue lockup"), "BUG: workqueue lockup", "lockup"),
        Fmt(rx("BUG: sleeping function called from invalid context at (.*)"),
            "BUG: sleeping function called from invalid context in {1}", "BUG", parts=CALL_STACK,
            skip=["__might_sleep", "__might_resched", "might_sleep", "__cond_resched"]),
        Fmt(rx(r"BUG: using __this_cpu_([a-z_]+)\(\) in preemptible"),
            "BUG: using __this_cpu_{0}() in preemptible code in {1}", "BUG", parts=CALL_STACK,
            skip=["dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu"]),
        Fmt(rx(r"BUG: using smp_processor_id\(\) in preemptible"),
            "BUG: using smp_processor_id() in preemptible code in {0}", "BUG", parts=CALL_STACK,
            skip=["dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu"]),
        Fmt(rx("BUG: scheduling while atomic"), "BUG: scheduling while atomic in {0}", "BUG",
            parts=CALL_STACK, skip=["schedule"]),
        Fmt(rx("BUG: memory leak"), "memory leak in {0}", "leak",
            parts=[rx("backtrace:"), STACK],
            skip=LEAK_SKIP),
        Fmt(rx("BUG: .*stack guard page was hit at"), "BUG: stack guard page was hit in {0}",
            "stack", parts=RIP_STACK, extractor="stall", alt=["stack-overflow in {0}"]),
        Fmt(rx("BUG: Invalid wait context"), "WARNING: locking bug in {0}", "lockdep",
            parts=CALL_STACK),
        Fmt(rx("BUG: TASK stack guard page was hit at"), "BUG: TASK stack guard page was hit in {0}",
            "stack", parts=RIP_STACK, extractor="stall", alt=["stack-overflow in {0}"]),
        Fmt(rx("BUG: MAX_LOCKDEP_KEYS too low"), "BUG: MAX_LOCKDEP_KEYS too low!", "lockdep"),
        Fmt(rx("BUG: MAX_LOCKDEP_ENTRIES too low"), "BUG: MAX_LOCKDEP_ENTRIES too low!", "lockdep"),
        Fmt(rx("BUG: MAX_LOCKDEP_CHAINS too low"), "BUG: MAX_LOCKDEP_CHAINS too low!", "lockdep"),
        Fmt(rx("BUG: MAX_LOCKDEP_CHAIN_HLOCKS too low"), "BUG: MAX_LOCKDEP_CHAIN_HLOCKS too low!", "lockdep"),
        Fmt(rx("BUG: MAX_STACK_TRACE_ENTRIES too low"), "BUG: MAX_STACK_TRACE_ENTRIES too low!", "lockdep"),
        Fmt(rx("BUG: looking up invalid subclass"), "BUG: looking up invalid subclass in {0}", "lockdep",
            parts=CALL_STACK),
        Fmt(rx("BUG: unable to handle kernel NX"), "BUG: unable to handle kernel NX in {0}", "BUG",
            parts=RIP_STACK),
        Fmt(rx("BUG: Object already free"), "BUG: Object already free", "SLUB"),
        Fmt(rx(r"BUG: ([\w-]+) \([^)]*\): (.*)"), "BUG: {1}", "SLUB"),
    ], [re.compile(p) for p in [
        "ODEBUG:", "Boot_DEBUG:", "xlog_status:", "DEBUG:", "BUG: no syscalls can create resource",
    ]]),
    Oops("WARNING:", "WARNING", [
        Fmt(rx(r"WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check)|ODEBUG: .* object"
               r"|WARNING: lib/debugobjects\.c:\d+ at "),
            "WARNING: ODEBUG bug in {0}", "WARNING", parts=RIP_STACK,
            skip=["debug_object", "debug_print", "debug_check", "__debug_", "^timer_", "^hrtimer_",
                  "^work_", "^call_rcu", "^kfree", "free_obj", "slab_free", "^__free",
                  "^destroy_", "^init_timer"]),
        Fmt(rx(r"WARNING: .*mm/usercopy\.c.* usercopy_warn"), "WARNING: bad usercopy in {0}", "WARNING",
            parts=RIP_STACK, skip=["usercopy", "__check"]),
        Fmt(rx(r"WARNING: .*lib/kobject\.c.* kobject_"), "WARNING: kobject bug in {0}", "WARNING",
            parts=RIP_STACK, skip=["kobject_"]),
        Fmt(rx(r"WARNING: .*fs/proc/generic\.c.* proc_register"), "WARNING: proc registration bug in {0}",
            "WARNING", parts=RIP_STACK, skip=["proc_"]),
        Fmt(rx(r"WARNING: .*lib/refcount\.c.* refcount_"), "WARNING: refcount bug in {0}", "refcount",
            parts=RIP_STACK, skip=["refcount", "kobject_"]),
        Fmt(rx(r"WARNING: .*kernel/locking/lockdep\.c.*lock_"), "WARNING: locking bug in {0}", "lockdep",
            parts=RIP_STACK, skip=["lock_", "_lock", "lockdep"]),
        Fmt(rx(r"WARNING: .*still has locks held!"), "WARNING: still has locks held in {0}", "lockdep",
            report=rx(r"WARNING: .*still has locks held!(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}")),
        Fmt(rx("WARNING: Nested lock was not taken"), "WARNING: nested lock was not taken in {0}",
            "lockdep", parts=CALL_STACK),
        Fmt(rx("WARNING: lock held when returning to user space"),
            "WARNING: lock held when returning to user space in {0}", "lockdep",
            report=rx(r"WARNING: lock held when returning to user space(?:.*\n)+?.*leaving the kernel "
                      r"with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}")),
        Fmt(rx(r"WARNING: .*mm/vmalloc\.c.*__vmalloc_node"), "WARNING: zero-size vmalloc in {0}", "WARNING",
            parts=CALL_STACK, skip=["vmalloc"]),
        Fmt(rx(r"WARNING: .*mm/.*\.c.* k?.?malloc"), "WARNING: kmalloc bug in {0}", "WARNING",
            parts=RIP_STACK, skip=["kmalloc", "krealloc", "slab", "kmem", "alloc"]),
        Fmt(rx(r"WARNING: .* at drivers/usb/core/urb\.c:[0-9]+ usb_submit_urb"),
            "WARNING in {0}/usb_submit_urb", "WARNING", parts=CALL_STACK,
            skip=["usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg",
                  "usb_control_msg"]),
        Fmt(rx(r"WARNING: .* at {{SRC}} {{FUNC}}"), "WARNING in {2}", "WARNING", parts=RIP_STACK),
        # 6.x: "WARNING: fs/dcache.c:123 at func+0x1/0x2, CPU#0: comm/123"
        Fmt(rx(r"WARNING: (?:\[.*?\] )?{{SRC}} at {{FUNC}}"), "WARNING in {2}", "WARNING", parts=RIP_STACK),
        Fmt(rx(r"WARNING: .* at [^ ]+ {{FUNC}}"), "WARNING in {1}", "WARNING", parts=RIP_STACK),
        Fmt(rx(r"WARNING: .* at {{SRC}}"), "WARNING in {1}", "WARNING", parts=RIP_STACK),
        Fmt(rx("WARNING: possible circular locking dependency detected"), "possible deadlock in {0}",
            "lockdep", report=rx(r"WARNING: possible circular locking dependency detected(?:.*\n)+?.*is "
                                 r"trying to acquire lock"),
            parts=[LOCK_AT, LOCK_AT, STACK], skip=["kernel_text_address", "unwind_get_return_address"]),
        Fmt(rx("WARNING: possible irq lock inversion dependency detected"), "possible deadlock in {0}",
            "lockdep", report=rx(r"WARNING: possible irq lock inversion dependency detected(?:.*\n)+?.*just "
                                 r"changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}")),
        Fmt(rx("WARNING: .*-safe -> .*-unsafe lock order detected"), "possible deadlock in {0}", "lockdep",
            parts=[rx("which became (?:.*) at:"), STACK], parts2=[LOCK_AT]),
        Fmt(rx("WARNING: possible recursive locking detected"), "possible deadlock in {0}", "lockdep",
            report=rx(r"WARNING: possible recursive locking detected(?:.*\n)+?.*is trying to acquire lock"
                      r"(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}")),
        Fmt(rx("WARNING: inconsistent lock state"), "inconsistent lock state in {1}", "lockdep",
            report=rx(r"WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"),
            parts=CALL_STACK),
        Fmt(rx("WARNING: suspicious RCU usage"), "WARNING: suspicious RCU usage in {1}", "lockdep",
            report=rx(r"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"), parts=CALL_STACK,
            skip=["rcu", "kmem_cache_", "^lockdep_"]),
        Fmt(rx(r"WARNING: kernel stack regs at [0-9a-f( )ptrval_]+ in [^ ]* has bad '([^']+)' value"),
            "WARNING: kernel stack regs has bad '{0}' value", "WARNING"),
        Fmt(rx(r"WARNING: kernel stack frame pointer at [0-9a-f( )ptrval_]+ in [^ ]* has bad value"),
            "WARNING: kernel stack frame pointer has bad value", "WARNING"),
        Fmt(rx("WARNING: bad unlock balance detected!"), "WARNING: bad unlock balance in {0}", "lockdep",
            report=rx(r"WARNING: bad unlock balance detected!(?:.*\n){0,15}?.*is trying to release lock"
                      r".*\n(?:.*\n){0,15}?(?:.*{{PC}} +|\s*|.*at: ){{FUNC}}")),
        Fmt(rx("WARNING: held lock freed!"), "WARNING: held lock freed in {0}", "lockdep",
            report=rx(r"WARNING: held lock freed!(?:.*\n)+?.*at:? (?:{{PC}} +)?{{FUNC}}")),
        Fmt(rx("WARNING: kernel stack regs .* has bad value"), "WARNING: kernel stack regs has bad value",
            "WARNING"),
        Fmt(rx("WARNING: lock held when returning to user space"), "WARNING: lock held when returning "
            "to user space", "lockdep"),
        Fmt(rx("WARNING: CPU: [0-9]+ PID: [0-9]+ at [^ ]+$"), "WARNING in corrupted", "WARNING",
            corrupted=True),
        Fmt(rx("WARNING: (.*)"), "WARNING: {0}", "WARNING"),
    ], [re.compile(p) for p in [
        "WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
        "WARNING: workqueue cpumask: online intersect > possible intersect",
        "WARNING: [Tt]he mand mount option", "WARNING: Unsupported flag value",
        "WARNING: Unprivileged eBPF is enabled", "WARNING: fbcon: Driver",
        "WARNING: See https.* for mitigation options", "WARNING: kernel not compiled with CPU_SRSO",
        r"EXT4-[Ff][Ss](?: \(.*\))?:", "(?i)warning: .* uses (?:deprecated v2 capabilities|wireless extensions)",
        r"XFS \(\w+\): WARNING", "WARNING: The mand mount option",
    ]]),
    Oops("INFO:", "INFO", [
        Fmt(rx("INFO: possible circular locking dependency detected"), "possible deadlock in {0}", "lockdep",
            report=rx(r"INFO: possible circular locking dependency detected(?:.*\n)+?.*is trying to acquire lock"),
            parts=[LOCK_AT, LOCK_AT, STACK]),
        Fmt(rx("INFO: possible irq lock inversion dependency detected"), "possible deadlock in {0}",
            "lockdep", report=rx(r"INFO: possible irq lock inversion dependency detected(?:.*\n)+?.*just "
                                 r"changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}")),
        Fmt(rx("INFO: .*-safe -> .*-unsafe lock order detected"), "possible deadlock in {0}",
            "lockdep", parts=[rx("which became (?:.*) at:"), STACK], parts2=[LOCK_AT]),
        Fmt(rx("INFO: possible recursive locking detected"), "possible deadlock in {0}", "lockdep",
            report=rx(r"INFO: possible recursive locking detected(?:.*\n)+?.*is trying to acquire lock"
                      r"(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}")),
        Fmt(rx("INFO: inconsistent lock state"), "inconsistent lock state in {1}", "lockdep",
            report=rx(r"INFO: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"),
            parts=CALL_STACK),
        Fmt(rx("INFO: rcu_(?:preempt|sched|bh|tasks\\w*) (?:self-)?detected(?: expedited)? stall"),
            "INFO: rcu detected stall in {0}", "RCU", parts=STALL_PARTS, parts2=STALL_PARTS2,
            skip=["apic_timer_interrupt", "rcu", "sysvec_", "asm_sysvec", "irq_exit", "__irq_svc",
                  "el1h_64_irq", "el1_interrupt", "gic_handle_irq", "arch_timer", "handle_percpu",
                  "handle_domain_irq", "handle_irq", "tick_"],
            extractor="stall", alt=["stall in {0}"]),
        Fmt(rx("INFO: rcu_(?:preempt|sched|bh|tasks\\w*) (?:self-)?detected(?: expedited)? stall"),
            "INFO: rcu detected stall", "RCU", corrupted=True),
        Fmt(rx("INFO: rcu_(?:preempt|sched|bh) detected stalls"), "INFO: rcu detected stall in {0}", "RCU",
            parts=STALL_PARTS, parts2=STALL_PARTS2,
            skip=["apic_timer_interrupt", "rcu", "sysvec_", "asm_sysvec", "irq_exit", "__irq_svc",
                  "el1h_64_irq", "gic_handle_irq", "tick_"],
            extractor="stall", alt=["stall in {0}"]),
        Fmt(rx("INFO: suspicious RCU usage"), "suspicious RCU usage at {0}", "lockdep",
            report=rx(r"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}")),
        Fmt(rx("INFO: task .* blocked for more than [0-9]+ seconds"), "INFO: task hung in {0}", "hung",
            parts=CALL_STACK, extractor="hang", alt=["hang in {0}"]),
        Fmt(rx("INFO: task .*:[0-9]+ can't die for more than .* seconds"), "INFO: task can't die in {0}",
            "hung", parts=CALL_STACK, skip=["schedule"], alt=["hang in {0}"]),
        Fmt(rx("INFO: task .*:[0-9]+ blocked for more than"), "INFO: task hung", "hung", corrupted=True),
        Fmt(rx("INFO: (Freed|Allocated) in (.*)"), "INFO: {0} in {1}", "KASAN", corrupted=True),
        Fmt(rx("INFO: trying to register non-static key"), "INFO: trying to register non-static key in {0}",
            "lockdep", parts=CALL_STACK, skip=["stack", "lock", "IRQ"]),
        Fmt(rx("INFO: NMI handler .* took too long to run"), "INFO: NMI handler took too long to run", "INFO"),
    ], [re.compile(p) for p in [
        "INFO: lockdep is turned off", "INFO: Stall ended before state dump start",
        "INFO: NMI handler .* took too long to run", "_INFO::", "INFO: sys_.* is not present in /proc/kallsyms",
        "INFO: no syscalls can create resource",
        "INFO: rcu_(?:preempt|sched|bh) detected expedited stalls, but suppressed full report",
        "INFO: Slab 0x", "INFO: Object 0x", "INFO: 0x[0-9a-f]+-0x[0-9a-f]+\\. First byte",
    ]]),
    Oops("Unable to handle kernel", "BUG", [
        Fmt(rx("Unable to handle kernel (paging request|NULL pointer dereference|access to user memory)"),
            "BUG: unable to handle kernel {0} in {1}", "BUG", parts=RIP_STACK, alt=["bad-access in {1}"]),
        Fmt(rx("Unable to handle kernel (execute from non-executable memory|write to read-only memory|"
               "data access on read-only memory|instruction fetch)"),
            "BUG: unable to handle kernel {0} in {1}", "BUG", parts=RIP_STACK, alt=["bad-access in {1}"]),
    ]),
    Oops("general protection fault", "GPF", [
        Fmt(rx("general protection fault.*:"), "general protection fault in {0}", "GPF", parts=RIP_STACK,
            alt=BAD_ACCESS),
    ], [re.compile(r"general protection fault .* error:\d+ in ")]),
    Oops("stack segment: ", "GPF", [
        Fmt(rx("stack segment: 0000"), "stack segment fault in {0}", "GPF", parts=RIP_STACK),
    ]),
    Oops("Kernel panic", "panic", [
        Fmt(rx("Kernel panic - not syncing: stack-protector:"), "kernel panic: stack is corrupted in {0}",
            "panic", report=rx("Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
                               "{{FUNC}}")),
        Fmt(rx("Kernel panic - not syncing: stack-protector:"), "kernel panic: stack is corrupted in {0}",
            "panic", report=rx("Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
                               "[a-f0-9]+"), parts=CALL_STACK, skip=["stack_chk"]),
        Fmt(rx("Kernel panic - not syncing: corrupted stack end"), "kernel panic: corrupted stack end in {0}",
            "panic", parts=CALL_STACK, skip=["schedule", "retint_kernel"], extractor="stall",
            alt=["stack-overflow in {0}"]),
        Fmt(rx("Kernel panic - not syncing: kernel stack overflow"), "kernel stack overflow in {0}", "stack",
            parts=CALL_STACK, skip=["bad_stack"], extractor="stall", alt=["stack-overflow in {0}"]),
        Fmt(rx("Kernel panic - not syncing: Attempted to kill init!"), "kernel panic: Attempted to kill init!",
            "panic"),
        Fmt(rx("Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+"),
            "kernel panic: Couldn't open N_TTY ldisc", "panic"),
        Fmt(rx("Kernel panic - not syncing: Fatal exception"), "kernel panic: Fatal exception", "panic",
            corrupted=True),
        Fmt(rx("Kernel panic - not syncing: (?:kernel: )?panic_on_warn set"), "kernel panic: panic_on_warn set",
            "panic", corrupted=True),
        Fmt(rx("Kernel panic - not syncing: hung_task: blocked tasks"),
            "kernel panic: hung_task: blocked tasks", "panic", corrupted=True),
        Fmt(rx("Kernel panic - not syncing: (.*)"), "kernel panic: {0}", "panic"),
    ]),
    Oops("PANIC: double fault", "double fault", [
        Fmt(rx("PANIC: double fault, error_code: 0x[0-9a-f]+"), "PANIC: double fault in {0}", "double fault",
            parts=[RIP]),
    ]),
    Oops("kernel BUG", "BUG", [
        Fmt(rx("kernel BUG at mm/usercopy.c"), "BUG: bad usercopy in {0}", "BUG", parts=CALL_STACK,
            skip=["usercopy", "__check"]),
        Fmt(rx("kernel BUG at lib/list_debug.c"), "BUG: corrupted list in {0}", "list", parts=CALL_STACK,
            alt=BAD_ACCESS),
        Fmt(rx("kernel BUG at arch/x86/mm/physaddr.c"), "BUG: unable to handle kernel paging request in {0}",
            "BUG", parts=RIP_STACK, skip=["__phys_addr"]),
        Fmt(rx("kernel BUG at fs/buffer.c"), "kernel BUG in {0}", "BUG", parts=RIP_STACK,
            skip=["buffer"]),
        Fmt(rx("kernel BUG (.*)"), "kernel BUG in {1}", "BUG", parts=RIP_STACK, skip=["^skb_"]),
    ]),
    Oops("Kernel BUG", "BUG", [
        Fmt(rx("Kernel BUG (.*)"), "kernel BUG {0}", "BUG"),
    ]),
    Oops("BUG kmalloc-", "SLUB", [
        Fmt(rx("BUG kmalloc-.*: Object already free"), "BUG: Object already free", "SLUB"),
    ]),
    Oops("divide error:", "divide error", [
        Fmt(rx(r"divide error: (?:.*\n)+?.*(?:RIP|EIP|pc ): (?:[0-9a-f]+:)?(?:{{PC}} +{{PC}} +)?{{FUNC}}"),
            "divide error in {0}", "divide error"),
    ]),
    Oops("divide_error:", "divide error", [
        Fmt(rx(r"divide_error: (?:.*\n)+?.*(?:RIP|EIP|pc ): (?:[0-9a-f]+:)?(?:{{PC}} +{{PC}} +)?{{FUNC}}"),
            "divide error in {0}", "divide error"),
    ]),
    Oops("invalid opcode:", "invalid opcode", [
        Fmt(rx(r"invalid opcode: (?:.*\n)+?.*(?:RIP|EIP): (?:[0-9a-f]+:)?(?:{{PC}} +{{PC}} +)?{{FUNC}}"),
            "invalid opcode in {0}", "invalid opcode"),
    ]),
    Oops("UBSAN:", "UBSAN", [
        Fmt(rx("UBSAN: Undefined behaviour in"), "UBSAN: undefined-behaviour in {0}", "UBSAN",
            parts=CALL_STACK, skip=["ubsan", "overflow"]),
        Fmt(rx("UBSAN: array-index-out-of-bounds in"), "UBSAN: array-index-out-of-bounds in {0}", "UBSAN",
            parts=CALL_STACK, skip=["ubsan", "overflow"]),
        Fmt(rx(r"UBSAN: ([\w\- ]+?) in"), "UBSAN: {0} in {1}", "UBSAN", parts=CALL_STACK,
            skip=["ubsan", "overflow"]),
    ]),
    Oops("Booting the kernel.", "reboot", [
        Fmt(rx("^Booting the kernel"), "unexpected kernel reboot", "reboot"),
    ], [re.compile("Parsing ELF|Decompressing Linux")]),
    Oops("unregister_netdevice: waiting for", "hang", [
        Fmt(rx("unregister_netdevice: waiting for (?:.*) to become free"),
            "unregister_netdevice: waiting for DEV to become free", "hang"),
    ]),
    Oops("VFS: Close: file count is 0", "BUG", [
        Fmt(rx("VFS: Close: file count is 0"), "VFS: Close: file count is zero (use-after-free)", "BUG"),
    ]),
    Oops("VFS: Busy inodes after unmount", "BUG", [
        Fmt(rx("VFS: Busy inodes after unmount"), "VFS: Busy inodes after unmount (use-after-free)", "BUG"),
    ]),
    Oops("Internal error:", "Oops", [
        Fmt(rx("Internal error:"), "Internal error in {0}", "Oops", parts=RIP_STACK),
    ], [re.compile("Internal error: Oops - BUG"), re.compile("Internal error: Oops - undefined instruction")]),
    Oops("Unhandled fault:", "BUG", [
        Fmt(rx("Unhandled fault:"), "Unhandled fault in {0}", "BUG", parts=RIP_STACK, alt=BAD_ACCESS),
    ]),
    Oops("Alignment trap:", "BUG", [
        Fmt(rx("Alignment trap:"), "Alignment trap in {0}", "BUG", parts=RIP_STACK),
    ]),
    Oops("trusty: panic", "panic", [
        Fmt(rx(r"trusty: panic.* ASSERT FAILED.*: (.*)"), "trusty: ASSERT FAILED: {0}", "panic"),
        Fmt(rx(r"trusty: panic \(.*?\):(?: DEBUG)? (.*?):"), "trusty: panic: {0}", "panic"),
    ]),
    Oops("kernel stack overflow", "stack", [
        Fmt(rx("kernel stack overflow"), "kernel stack overflow in {0}", "stack", parts=CALL_STACK,
            skip=["bad_stack", "handle_stack_overflow", "exc_double_fault"], extractor="stall",
            alt=["stack-overflow in {0}"]),
    ], [re.compile("Kernel panic")]),
    Oops("int3:", "int3", [
        Fmt(rx("int3: 0000"), "int3 in {0}", "int3", parts=RIP_STACK),
    ]),
    Oops("unreferenced object", "leak", [
        Fmt(rx("unreferenced object {{PC}} \\(size ([0-9]+)\\):"), "memory leak in {1}", "leak",
            parts=[rx("backtrace"), STACK],
            skip=LEAK_SKIP),
        Fmt(rx("unreferenced object 0x[0-9a-f]+ \\(size ([0-9]+)\\):"), "memory leak in {1}", "leak",
            parts=[rx("backtrace"), STACK],
            skip=LEAK_SKIP),
    ]),
    Oops("Oops:", "Oops", [
        Fmt(rx("Oops: general protection fault"), "general protection fault in {0}", "GPF", parts=RIP_STACK,
            alt=BAD_ACCESS),
        Fmt(rx("Oops: int3"), "int3 in {0}", "int3", parts=RIP_STACK),
        Fmt(rx("Oops: stack segment"), "stack segment fault in {0}", "GPF", parts=RIP_STACK),
        Fmt(rx("Oops: divide error"), "divide error in {0}", "divide error", parts=RIP_STACK),
        Fmt(rx("Oops: invalid opcode"), "invalid opcode in {0}", "invalid opcode", parts=RIP_STACK),
        Fmt(rx("Oops: Kernel access of bad area"), "BUG: Kernel access of bad area in {0}", "BUG",
            parts=RIP_STACK, alt=BAD_ACCESS),
        Fmt(rx("Oops: Exception in kernel mode"), "Oops: Exception in kernel mode in {0}", "Oops",
            parts=RIP_STACK),
        Fmt(rx("Oops: (.*?)(?:, sig: \\d+)? \\[#"), "Oops: {0} in {1}", "Oops", parts=RIP_STACK),
    ]),
    Oops("SYZFAIL:", "SYZFAIL", [
        Fmt(rx("SYZFAIL:(.*)"), "SYZFAIL:{0}", "SYZFAIL"),
    ]),
]

# Every header string, for a quick "could this line start a report" check.
HEADER_RE = re.compile("|".join(re.escape(o.header) for o in OOPSES))
