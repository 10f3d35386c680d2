import ProfferCrypto
import ProfferWire

/// A public intent's post (PROTOCOL.md §6.2): a kind-1 note signed by the intent's cast key, whose content is the
/// intent in canonical form with its `id` and a `reply` naming that key, tagged so vendors find it, expiring with the
/// intent, and carrying 16 bits of proof of work.
public enum PublicIntent {
    /// The tag every post carries, and vendors listen for.
    public static let tag = "proffer"
    /// The proof of work a post commits to (NIP-13).
    public static let proofOfWorkBits = 16
    /// How long a post without `exp` or `by` lasts, and the longest any post lasts.
    public static let defaultLifetime: Int64 = 30 * 86400
    public static let longestLifetime: Int64 = 90 * 86400

    /// Why a vendor ignores a post (§6.2, §6.4); it never answers one.
    public enum Ignored: Error, Hashable, Sendable, CustomStringConvertible {
        case notANote, tooLong, doesNotParse(String), notAnIntent, noReply, replyNotTheAuthor, expired
        case tooLittleWork(Int)

        public var description: String {
            switch self {
            case .notANote: "not a kind-1 note"
            case .tooLong: "its content is over 280 characters"
            case .doesNotParse(let code): "its content does not parse (\(code))"
            case .notAnIntent: "its content is not an intent"
            case .noReply: "its intent has no reply"
            case .replyNotTheAuthor: "its reply names another key than the one that signed it"
            case .expired: "it has expired"
            case .tooLittleWork(let bits): "it carries less than \(bits) bits of proof of work"
            }
        }
    }

    /// When a post of `intent` made at `postedAt` expires: the earlier of its `exp` and `by` (a date at 00:00:00Z of
    /// the following day, a duration from posting), else 30 days after posting; never more than 90 days after it.
    public static func expiration(of intent: Message, postedAt: Int64) -> Int64 {
        let ends = [intent.exp, intent.by].compactMap { $0 }.map { when -> Int64 in
            switch when {
            case .date(let date): UTCDay.start(of: date) + 86400
            case .after(let span): postedAt + Int64(span.seconds)
            }
        }
        return min(ends.min() ?? postedAt + defaultLifetime, postedAt + longestLifetime)
    }

    /// The post of `intent`, which must carry its public `id` and a `reply` naming `castKey`; mined to 16 bits.
    public static func post(_ intent: Message, castKey: SchnorrKeyPair, postedAt: Int64) throws(NostrError)
        -> NostrEvent
    {
        guard intent.kind.isIntent, let category = intent.category else {
            throw NostrError("only an intent is cast")
        }
        guard intent.id != nil else { throw NostrError("a public intent carries its own id") }
        guard let reply = intent.reply, reply.publicKey == castKey.publicKey.bytes else {
            throw NostrError("a public intent's reply names its cast key")
        }
        let tags = [
            ["t", tag], ["t", intent.kind.rawValue], ["t", String(category.segments[0])],
            ["expiration", String(expiration(of: intent, postedAt: postedAt))],
        ]
        return NostrKinds.mined(
            kind: NostrKinds.note, tags: tags, content: intent.canonicalForm, createdAt: postedAt, by: castKey,
            targetBits: proofOfWorkBits)
    }

    /// The intent a post carries, as a vendor reads it: refused (never answered) when it is no note, its content is
    /// too long or no intent, it has no `reply` or one naming another key than its author, it has expired by its
    /// `expiration` tag or its own `exp` and `by`, or (when `requiredWork` is set) it carries too little proof of
    /// work. The event's signature was checked when it was read.
    public static func intent(of post: NostrEvent, now: Int64, requiredWork: Int = 0) -> Result<Message, Ignored> {
        guard post.kind == NostrKinds.note else { return .failure(.notANote) }
        guard post.content.unicodeScalars.count <= Message.maximumScalars else { return .failure(.tooLong) }
        let message: Message
        do {
            message = try Message.parse(post.content)
        } catch {
            return .failure(.doesNotParse(error.code.description))
        }
        guard message.kind.isIntent else { return .failure(.notAnIntent) }
        guard let reply = message.reply else { return .failure(.noReply) }
        guard reply.publicKey == post.author.bytes else { return .failure(.replyNotTheAuthor) }
        let ends = [post.expiration, expiration(of: message, postedAt: post.createdAt)].compactMap { $0 }
        guard ends.allSatisfy({ $0 > now }) else { return .failure(.expired) }
        if requiredWork > 0, NostrKinds.committedDifficulty(of: post) < requiredWork {
            return .failure(.tooLittleWork(requiredWork))
        }
        return .success(message)
    }
}

/// Unix time of calendar dates in UTC, without Foundation.
enum UTCDay {
    /// 00:00:00Z of `date`, in Unix seconds.
    static func start(of date: CalendarDate) -> Int64 {
        // Days from 1970-01-01 to a proleptic Gregorian date (the civil-from-days inverse).
        let year = Int64(date.month <= 2 ? date.year - 1 : date.year)
        let month = Int64(date.month)
        let era = year / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + Int64(date.day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return (era * 146097 + dayOfEra - 719468) * 86400
    }
}
