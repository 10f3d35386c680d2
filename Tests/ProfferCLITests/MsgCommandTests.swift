import Foundation
import Testing

@testable import ProfferTestSupport

@Suite("proffer msg")
struct MsgCommandTests {
    struct Line: Decodable {
        struct Failure: Decodable {
            let code: String
            let column: Int
            let message: String
        }
        let ok: Bool
        let canonical: String?
        let kind: String?
        let error: Failure?
    }

    func decode(_ line: String) throws -> Line { try JSONDecoder().decode(Line.self, from: Data(line.utf8)) }

    @Test("parse --json writes one object per argument and exits 0 when all parse")
    func parseArgumentsAsJSON() throws {
        let outcome = try ProfferProcess.run([
            "msg", "parse", "--json", "#rent car.van min:40eur max:90.00EUR qty:2 in:FR exp:48h",
            "#decline re:v9a1b2c3",
        ])
        #expect(outcome.status == 0)
        #expect(
            outcome.stdoutLines.first
                == ##"{"ok":true,"canonical":"#rent car.van min:40EUR max:90EUR qty:2 in:FR exp:48h","kind":"rent","category":"car.van","fields":{"min":{"amount":"40","currency":"EUR"},"max":{"amount":"90","currency":"EUR"},"qty":2,"in":["FR"],"exp":"48h"},"attributes":{}}"##
        )
        #expect(try decode(outcome.stdoutLines[1]).kind == "decline")
        #expect(outcome.stdoutLines.count == 2)
    }

    @Test("parse reads lines from standard input: CRLF, a blank line, no final LF; exits 65 when any fails")
    func parseStandardInput() throws {
        let input = Array("#buy x\r\n\n#buy x max:1,200EUR\n  #fix sink".utf8)
        let outcome = try ProfferProcess.run(["msg", "parse", "--json"], input: input)
        #expect(outcome.status == 65)
        let lines = try outcome.stdoutLines.map(decode)
        #expect(lines.count == 4)
        #expect(lines[0].canonical == "#buy x")
        #expect(lines[1].error?.code == "empty")
        #expect(lines[2].error?.code == "bad-money")
        #expect(lines[2].error?.column == 8)
        #expect(lines[2].error?.message.contains("1200EUR") == true)
        #expect(lines[3].canonical == "#fix sink")
    }

    @Test("a final LF ends the last line and starts no empty one")
    func finalNewline() throws {
        let outcome = try ProfferProcess.run(["msg", "parse", "--json"], input: Array("#buy a\n#buy b\n".utf8))
        #expect(outcome.status == 0)
        #expect(outcome.stdoutLines.count == 2)
    }

    @Test("bytes that are not UTF-8 are bad-encoding, with the column of the bad byte")
    func badEncodingFromStandardInput() throws {
        let outcome = try ProfferProcess.run(["msg", "parse", "--json"], input: Array("#buy é ".utf8) + [0xFF, 0x0A])
        #expect(outcome.status == 65)
        let line = try decode(outcome.stdoutLines[0])
        #expect(line.error?.code == "bad-encoding")
        #expect(line.error?.column == 8)
    }

    @Test("a line of megabytes is judged whole: its columns count every leading space")
    func hugeLine() throws {
        let spaces = 3_000_000
        let input = Array(repeating: UInt8(ascii: " "), count: spaces) + Array("#buy x qty:0\n#buy y".utf8)
        let outcome = try ProfferProcess.run(["msg", "parse", "--json"], input: input)
        let lines = try outcome.stdoutLines.map(decode)
        #expect(lines.count == 2)
        #expect(lines[0].error?.code == "bad-quantity")
        #expect(lines[0].error?.column == spaces + 8)
        #expect(lines[1].canonical == "#buy y")
    }

    @Test("parse without --json prints canonical forms and errors")
    func parseHumanOutput() throws {
        let outcome = try ProfferProcess.run(["msg", "parse", "#BUY  Camera", "#buy"])
        #expect(outcome.status == 65)
        #expect(outcome.stdoutLines[0] == "#buy camera")
        #expect(outcome.stdoutLines[1].hasPrefix("error: missing-category at column 1: "))
    }

    @Test(
        "a usage error exits 64",
        arguments: [["msg", "parse", "--bogus"], ["msg", "explain"], ["msg", "frobnicate"]])
    func usageError(_ arguments: [String]) throws {
        let outcome = try ProfferProcess.run(arguments)
        #expect(outcome.status == 64)
        #expect(!outcome.stderr.isEmpty)
    }

    @Test("format prints the canonical form; errors go to standard error with exit 65")
    func format() throws {
        let good = try ProfferProcess.run([
            "msg", "format", "#accept give:name,postal terms:sd-base re:v9a1b2c3 id:a1b2c3d4",
        ])
        #expect(good.status == 0)
        #expect(good.stdout == "#accept id:a1b2c3d4 re:v9a1b2c3 terms:sd-base give:name,postal\n")
        let bad = try ProfferProcess.run(["msg", "format", "#offer id:v9a1b2c3"])
        #expect(bad.status == 65)
        #expect(bad.stdout.isEmpty)
        #expect(bad.stderr.contains("missing-field"))
    }

    @Test("lint puts a caret under the fault and suggests the fix")
    func lint() throws {
        let outcome = try ProfferProcess.run(["msg", "lint", "#byu camera", "#buy x note:日本 max:1,200EUR"])
        #expect(outcome.status == 65)
        let lines = outcome.stdoutLines
        #expect(lines[0] == "  #byu camera")
        #expect(lines[1] == "  ^")
        #expect(lines[2].contains("did you mean \"#buy\"?"))
        #expect(lines[3] == "  #buy x note:日本 max:1,200EUR")
        // Each of 日 and 本 is two columns wide on a terminal.
        #expect(lines[4] == "  " + String(repeating: " ", count: 17) + "^")
        #expect(lines[5].hasPrefix("bad-money (column 16): \"1,200EUR\" — write amounts like 1200EUR or 12.50USD"))
    }

    @Test("lint warns about an attribute that looks like a misspelt field")
    func lintWarnsAboutMisspelling() throws {
        let outcome = try ProfferProcess.run(["msg", "lint", "#buy camera mxa:1200EUR"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("did you mean \"max\"?"))
    }

    @Test("explain says what a message means in plain words")
    func explain() throws {
        let outcome = try ProfferProcess.run([
            "msg", "explain", "#buy camera.mirrorless max:1200EUR in:DE by:2026-12-24 terms:sd-base",
        ])
        #expect(outcome.status == 0)
        #expect(
            outcome.stdout.hasPrefix(
                "Wants to buy: camera › mirrorless · up to 1,200 EUR · in Germany · needed by 24 Dec 2026 · under terms SD-BASE (service delivery only"
            ))
    }

    @Test("explain says where answers to a public intent go; lint warns about a reply unfit for a post")
    func reply() throws {
        let npub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
        let nprofile =
            "nprofile1qqsrhuxx8l9ex335q7he0f09aej04zpazpl0ne2cgukyawd24mayt8gpp4mhxue69uhhytnc9e3k7mgpz4mhxue69uhkg6nzv9ejuumpv34kytnrdaksjlyr9p"
        let explained = try ProfferProcess.run(["msg", "explain", "#buy camera max:900EUR reply:nostr:\(nprofile)"])
        #expect(explained.status == 0)
        #expect(
            explained.stdout.contains(
                "answers go privately over Nostr to npub180cvv07…yjh6w6 via wss://r.x.com, wss://djbas.sadkb.com"),
            "\(explained.stdout)")
        let linted = try ProfferProcess.run(["msg", "lint", "#buy camera reply:NOSTR:\(npub.uppercased())"])
        #expect(linted.status == 0)
        #expect(linted.stdout.contains("canonical form: #buy camera reply:nostr:\(npub)"), "\(linted.stdout)")
        #expect(linted.stdout.contains("warning: the reply names no relay"), "\(linted.stdout)")
        let broken = try ProfferProcess.run(["msg", "lint", "#buy camera reply:nostr:\(npub.dropLast())q"])
        #expect(broken.status == 65)
        #expect(broken.stdout.contains("bad-reply (column 13):"), "\(broken.stdout)")
        #expect(broken.stdout.contains("has a wrong checksum"), "\(broken.stdout)")
    }

    @Test("help documents the exit statuses")
    func help() throws {
        let outcome = try ProfferProcess.run(["msg", "parse", "--help"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("65 when any did not"))
    }
}
