import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Date {
    /// `2026-11-23 09:30` in UTC. Built by hand: a DateFormatter per row made long listings slow.
    public var shortText: String {
        let parts = utcParts
        return "\(dayText(parts)) \(Date.two(parts.tm_hour)):\(Date.two(parts.tm_min))"
    }

    /// `2026-11-23` in UTC.
    public var dayText: String { dayText(utcParts) }

    private var utcParts: tm {
        var seconds = time_t(timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return parts
    }

    private func dayText(_ parts: tm) -> String {
        "\(parts.tm_year + 1900)-\(Date.two(parts.tm_mon + 1))-\(Date.two(parts.tm_mday))"
    }

    private static func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
