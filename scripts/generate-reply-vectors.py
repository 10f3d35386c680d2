#!/usr/bin/env python3
"""Writes the conformance vectors of the `reply` field (PROTOCOL.md §1.4, §1.5) into schema/vectors/.

Its bech32 is written here from BIP-173, apart from the Swift parser, so the vectors check the parser against a second
implementation. Vectors whose `why` starts with "reply:" are replaced on each run; the others are kept as they are.
Run from the repository root: python3 scripts/generate-reply-vectors.py
"""
import json
import pathlib

ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32, BECH32M = 1, 0x2BC830A3


def polymod(values):
    generators = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit in range(5):
            checksum ^= generators[bit] if (top >> bit) & 1 else 0
    return checksum


def expand(prefix):
    return [ord(c) >> 5 for c in prefix] + [0] + [ord(c) & 31 for c in prefix]


def to_five_bits(data, extra_zero_bits=0):
    bits, accumulator, out = 0, 0, []
    for byte in data:
        accumulator = accumulator << 8 | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((accumulator >> bits) & 31)
    if bits:
        out.append((accumulator << (5 - bits)) & 31)
    return out + [0] * extra_zero_bits


def encode(prefix, data, constant=BECH32, values=None):
    values = values if values is not None else to_five_bits(data)
    mod = polymod(expand(prefix) + values + [0] * 6) ^ constant
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return prefix + "1" + "".join(ALPHABET[v] for v in values + checksum)


# NIP-19's npub example key, so the first vector can be checked against NIP-19 itself.
KEY = bytes.fromhex("7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e")
OTHER = bytes.fromhex("3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d")


def tlv(*records):
    out = b""
    for kind, value in records:
        out += bytes([kind, len(value)]) + value
    return out


def relay(url):
    return (1, url.encode())


def npub(key=KEY):
    return encode("npub", key)


def nprofile(*records):
    return encode("nprofile", tlv(*records))


def intent(reply, extra=""):
    return f"#buy camera.mirrorless max:1200EUR in:DE{extra} reply:{reply}"


def canonical_intent(reply_canonical, extra=""):
    return f"#buy camera.mirrorless max:1200EUR in:DE{extra} reply:{reply_canonical}"


def valid_json(canonical, reply_canonical):
    return {
        "ok": True,
        "canonical": canonical,
        "kind": "buy",
        "category": "camera.mirrorless",
        "fields": {"max": {"amount": "1200", "currency": "EUR"}, "in": ["DE"], "reply": reply_canonical},
        "attributes": {},
    }


def valid_vectors():
    vectors = []

    def add(why, reply, canonical_reply=None, written=None):
        canonical_reply = canonical_reply or reply.lower()
        canonical = canonical_intent(canonical_reply)
        vectors.append({
            "why": "reply: " + why,
            "input": written or intent(reply),
            "canonical": canonical,
            "json": valid_json(canonical, canonical_reply),
        })

    assert npub() == "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
    add("an npub, no relays (NIP-19's example)", "nostr:" + npub())
    add("an nprofile with one relay", "nostr:" + nprofile((0, KEY), relay("wss://relay.example")))
    add("an nprofile with two relays", "nostr:" + nprofile((0, KEY), relay("wss://a.example"), relay("wss://b.example")))
    add("an nprofile with three relays, the most there may be",
        "nostr:" + nprofile((0, KEY), relay("wss://a.io"), relay("wss://b.io"), relay("wss://c.io")))
    nip19_example = "nostr:" + nprofile((0, OTHER), relay("wss://r.x.com"), relay("wss://djbas.sadkb.com"))
    # NIP-19's own example, which this bech32 must reproduce.
    assert nip19_example == "nostr:nprofile1qqsrhuxx8l9ex335q7he0f09aej04zpazpl0ne2cgukyawd24mayt8gpp4mhxue69uhhytnc9e3k7mgpz4mhxue69uhkg6nzv9ejuumpv34kytnrdaksjlyr9p"
    add("NIP-19's nprofile example", nip19_example)
    add("an nprofile with only its key", "nostr:" + nprofile((0, KEY)))
    add("a ws:// relay is valid in a message (§6 limits it to loopback where it is used)",
        "nostr:" + nprofile((0, KEY), relay("ws://127.0.0.1:7447")))
    add("the relay may come before the key", "nostr:" + nprofile(relay("wss://relay.example"), (0, KEY)))
    add("records of other types are ignored and kept as written",
        "nostr:" + nprofile((0, KEY), (2, OTHER), (3, b"\x00\x00\x00\x01"), relay("wss://relay.example")))
    upper = "nostr:" + nprofile((0, KEY), relay("wss://relay.example"))
    add("the scheme in any case, the bech32 string all uppercase: canonical is lowercase",
        "NoStR:" + upper[len("nostr:"):].upper(), canonical_reply=upper)
    long = "nostr:" + nprofile((0, KEY), relay("wss://" + "r" * 94))
    vectors.append({
        "why": "reply: a relay of exactly 100 bytes", "input": "#buy x reply:" + long.upper(),
        "canonical": "#buy x reply:" + long,
        "json": {"ok": True, "canonical": "#buy x reply:" + long, "kind": "buy", "category": "x",
                 "fields": {"reply": long}, "attributes": {}},
    })
    add("a key that is not on the curve still parses: the curve is checked where the key is used",
        "nostr:" + npub(bytes(32)))
    # The reply goes last among fields and before attributes, wherever it was written.
    reply = "nostr:" + npub()
    canonical = f"#buy camera.mirrorless max:1200EUR note:hi reply:{reply} color:black"
    vectors.append({
        "why": "reply: canonical order puts reply after note and before attributes",
        "input": f"#buy camera.mirrorless reply:{reply} color:black note:hi max:1200EUR",
        "canonical": canonical,
        "json": {
            "ok": True, "canonical": canonical, "kind": "buy", "category": "camera.mirrorless",
            "fields": {"max": {"amount": "1200", "currency": "EUR"}, "note": "hi", "reply": reply},
            "attributes": {"color": "black"},
        },
    })
    for kind in ("rent", "hire", "fix"):
        canonical = f"#{kind} service.x reply:{reply}"
        vectors.append({
            "why": f"reply: allowed on #{kind}",
            "input": canonical,
            "canonical": canonical,
            "json": {"ok": True, "canonical": canonical, "kind": kind, "category": "service.x",
                     "fields": {"reply": reply}, "attributes": {}},
        })
    return vectors


def invalid_vectors():
    vectors = []
    column = len("#buy camera.mirrorless max:1200EUR in:DE ") + 1

    def add(why, reply, code="bad-reply", at=column, written=None):
        vectors.append({"why": "reply: " + why, "code": code, "column": at, "input": written or intent(reply)})

    good = nprofile((0, KEY), relay("wss://relay.example"))
    flipped = good[:-1] + ("q" if good[-1] != "q" else "p")
    add("a wrong checksum", "nostr:" + flipped)
    add("a character left out", "nostr:" + good[:20] + good[21:])
    add("bech32m instead of bech32", "nostr:" + encode("npub", KEY, BECH32M))
    add("mixed case", "nostr:" + npub()[:10].upper() + npub()[10:])
    add("no scheme", npub())
    add("another scheme", "nost:" + npub())
    add("the scheme alone", "nostr:")
    add("no separator", "nostr:npubqqqqqqqqqqq")
    add("a character outside bech32 (b)", "nostr:" + npub()[:10] + "b" + npub()[11:])
    add("a secret key is not a reply", "nostr:" + encode("nsec", KEY))
    add("a note id is not a reply", "nostr:" + encode("note", KEY))
    add("an nevent is not a reply", "nostr:" + encode("nevent", tlv((0, KEY))))
    add("an npub of 31 bytes", "nostr:" + encode("npub", KEY[:31]))
    add("an npub of 33 bytes", "nostr:" + encode("npub", KEY + b"\x01"))
    add("five leftover bits (more than 4 padding bits)", "nostr:" + encode("npub", KEY, values=to_five_bits(KEY, 1)))
    values = to_five_bits(KEY)
    values[-1] |= 1  # a padding bit that is not zero
    add("a padding bit that is not zero", "nostr:" + encode("npub", KEY, values=values))
    add("an nprofile without a key", "nostr:" + nprofile(relay("wss://relay.example")))
    add("an nprofile with two keys", "nostr:" + nprofile((0, KEY), (0, OTHER)))
    add("an nprofile key of 31 bytes", "nostr:" + nprofile((0, KEY[:31])))
    add("an nprofile record cut short", "nostr:" + encode("nprofile", tlv((0, KEY)) + bytes([1, 30]) + b"wss://a"))
    add("an nprofile record with its length byte missing", "nostr:" + encode("nprofile", tlv((0, KEY)) + bytes([1])))
    add("four relays", "nostr:" + nprofile((0, KEY), *[relay(f"wss://{c}.io") for c in "abcd"]))
    add("a relay of 101 bytes", None, at=8, written="#buy x reply:nostr:" + nprofile((0, KEY), relay("wss://" + "r" * 95)))
    add("an https relay", "nostr:" + nprofile((0, KEY), relay("https://relay.example")))
    add("a relay that is only its scheme", "nostr:" + nprofile((0, KEY), relay("wss://")))
    add("a relay holding a space", "nostr:" + nprofile((0, KEY), relay("wss://a b")))
    add("a relay holding a byte above 0x7E", "nostr:" + encode("nprofile", tlv((0, KEY), (1, b"wss://caf\xc3\xa9"))))
    add("quoted", None, written=intent('"nostr:' + npub() + '"'))
    add("the first bad token wins: a bad reply before an unknown field", "nostr:" + flipped,
        written=intent("nostr:" + flipped) + " qty:abc")
    vectors.append({"why": "reply: not allowed on an offer", "code": "field-not-allowed", "column": 32,
                    "input": "#offer id:k7f3q2ab re:k7f3q2ac reply:nostr:" + npub() + " price:1EUR"})
    vectors.append({"why": "reply: given twice", "code": "duplicate-field",
                    "column": len(intent("nostr:" + npub())) + 2,
                    "input": intent("nostr:" + npub()) + " reply:nostr:" + npub()})
    long_reply = "nostr:" + nprofile((0, KEY), *[relay("wss://" + c * 94) for c in "abc"])
    add("a reply of 3 relays of 100 bytes makes the message too long", None, code="too-long", at=1,
        written=intent(long_reply))
    # Just under the limit without the reply, over it with it.
    note = "n" * (280 - len(intent("x")) - len(" note:"))
    vectors.append({"why": "reply: the same intent fits without its reply and not with it", "code": "too-long",
                    "column": 1, "input": intent("nostr:" + npub(), extra=" note:" + note)})
    return vectors


def rewrite(path, new_vectors):
    document = json.loads(path.read_text())
    kept = [v for v in document["vectors"] if not v["why"].startswith("reply:")]
    document["vectors"] = kept + new_vectors
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


root = pathlib.Path("schema/vectors")
rewrite(root / "messages-valid.json", valid_vectors())
rewrite(root / "messages-invalid.json", invalid_vectors())
