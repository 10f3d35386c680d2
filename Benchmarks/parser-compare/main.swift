// Parses every line of a corpus ROUNDS times and prints messages per second: compiled once with today's ProfferWire
// and once with an earlier commit's by Benchmarks/parser-compare.sh, so both figures come from the same run.
#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 3, let rounds = Int(arguments[2]), let file = fopen(arguments[1], "r") else {
    fputs("usage: parser-compare CORPUS ROUNDS\n", stderr)
    exit(64)
}
var lines: [[UInt8]] = []
var buffer: UnsafeMutablePointer<CChar>?
var capacity = 0
while getline(&buffer, &capacity, file) > 0 {
    var line = Array(UnsafeRawBufferPointer(start: buffer, count: strlen(buffer!)))
    if line.last == 0x0A { line.removeLast() }
    lines.append(line)
}
var valid = 0
var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
for _ in 0..<rounds {
    for line in lines {
        let parsed = line.withUnsafeBufferPointer { bytes in
            Result { () throws(MessageError) in try Message.parse(utf8: bytes) }
        }
        if case .success = parsed { valid += 1 }
    }
}
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
print(Int(Double(lines.count * rounds) / seconds), valid)
