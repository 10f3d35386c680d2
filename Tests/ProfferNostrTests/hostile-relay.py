#!/usr/bin/env python3
"""A Nostr relay that lies, for the relay client's tests: hostile-relay.py MODE PORT [EVENTS_FILE]

It speaks just enough WebSocket (RFC 6455, by hand, so it can also misbehave below the message level) to answer
each client message according to MODE:

  silent        accepts the TCP connection and never answers the upgrade
  mute          completes the upgrade, then never says anything
  drip          answers every message with a valid frame sent one byte a second
  badjson       answers every message with text that is not JSON
  wrongid       answers REQ with the events of EVENTS_FILE, each id altered; EVENT with OK true
  forgedsig     answers REQ with the events of EVENTS_FILE, each signature altered
  unasked       answers REQ with the events of EVENTS_FILE whatever the filter asked
  flood         answers REQ with 10,000 copies of the first event of EVENTS_FILE (distinct subscription traffic)
  disconnect    closes the connection as soon as a message arrives
  okfalse       answers EVENT with OK false and a reason; REQ with EOSE
  bigframe      answers every message with one frame of 4 MiB
"""
import base64
import hashlib
import json
import socket
import sys
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(payload: bytes, opcode: int = 1) -> bytes:
    header = bytes([0x80 | opcode])
    length = len(payload)
    if length < 126:
        header += bytes([length])
    elif length < 65536:
        header += bytes([126]) + length.to_bytes(2, "big")
    else:
        header += bytes([127]) + length.to_bytes(8, "big")
    return header + payload


def read_exact(connection, count):
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_message(connection):
    first, second = read_exact(connection, 2)
    opcode = first & 0x0F
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(read_exact(connection, 2), "big")
    elif length == 127:
        length = int.from_bytes(read_exact(connection, 8), "big")
    mask = read_exact(connection, 4) if second & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(read_exact(connection, length)))
    return opcode, payload


def handshake(connection):
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = connection.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        request += chunk
    key = ""
    for line in request.decode("latin-1").split("\r\n"):
        if line.lower().startswith("sec-websocket-key:"):
            key = line.split(":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    connection.sendall(
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())


def altered(hex_text):
    return ("0" if hex_text[0] != "0" else "1") + hex_text[1:]


def serve(connection, mode, events):
    try:
        if mode == "silent":
            time.sleep(600)
            return
        handshake(connection)
        while True:
            opcode, payload = read_message(connection)
            if opcode == 8:
                return
            if opcode != 1:
                continue
            if mode == "mute":
                continue
            if mode == "disconnect":
                connection.close()
                return
            message = json.loads(payload)
            kind = message[0]
            if mode == "drip":
                reply = ["NOTICE", "slowly"] if kind != "EVENT" else ["OK", message[1]["id"], True, ""]
                for byte in frame(json.dumps(reply).encode()):
                    connection.sendall(bytes([byte]))
                    time.sleep(1)
                continue
            if mode == "badjson":
                connection.sendall(frame(b'["EVENT", "x", {not json'))
                continue
            if mode == "bigframe":
                connection.sendall(frame(b'["NOTICE","' + b"a" * (4 * 1024 * 1024) + b'"]'))
                continue
            if kind == "EVENT":
                accepted = mode != "okfalse"
                connection.sendall(frame(json.dumps(["OK", message[1]["id"], accepted,
                                                     "" if accepted else "blocked: not today"]).encode()))
                continue
            if kind != "REQ":
                continue
            subscription = message[1]
            if mode == "flood":
                one = json.dumps(["EVENT", subscription, events[0]]).encode()
                connection.sendall(b"".join(frame(one) for _ in range(10000)))
            elif mode in ("wrongid", "forgedsig", "unasked"):
                for event in events:
                    event = dict(event)
                    if mode == "wrongid":
                        event["id"] = altered(event["id"])
                    if mode == "forgedsig":
                        event["sig"] = altered(event["sig"])
                    connection.sendall(frame(json.dumps(["EVENT", subscription, event]).encode()))
            connection.sendall(frame(json.dumps(["EOSE", subscription]).encode()))
    except (ConnectionError, OSError, ValueError):
        pass
    finally:
        try:
            connection.close()
        except OSError:
            pass


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    events = json.load(open(sys.argv[3])) if len(sys.argv) > 3 else []
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    while True:
        connection, _ = server.accept()
        threading.Thread(target=serve, args=(connection, mode, events), daemon=True).start()


main()
