import CSodium

#if canImport(Glibc)
    import Glibc
#endif

/// Turns off core dumps and ptrace-dumpability for the rest of the process, so unlocked keys never land in a crash
/// file and another process of the same user cannot attach and read them.
///
/// Key memory from `sodium_malloc` is also marked `MADV_DONTDUMP`; this covers everything else in the process, such
/// as a decrypted record on its way to the screen.
public func disableCoreDumps() {
    var limit = rlimit(rlim_cur: 0, rlim_max: 0)
    _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    _ = proffer_disable_dumpable()
}

/// Whether the process may still be dumped or attached to (`PR_GET_DUMPABLE`).
public var isProcessDumpable: Bool { proffer_is_dumpable() != 0 }
