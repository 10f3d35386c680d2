import Testing

@testable import ProfferVendorKit

@Suite("Where a vendor answering public intents connects")
struct RelayAddressTests {
    @Test("a relay named in a post is used only over wss:// to public addresses, whatever form the address takes")
    func onlyPublicAddresses() async {
        for refused in [
            "ws://example.org", "wss://127.0.0.1", "wss://127.1:7803", "wss://2130706433:7804", "wss://0x7f000001",
            "wss://10.1:7803", "wss://3232235777", "wss://0xa9fea9fe", "wss://169.254.169.254", "wss://172.20.0.1",
            "wss://100.64.1.1", "wss://0.0.0.0", "wss://localhost", "wss://[::1]", "wss://[fe80::1]", "wss://[fd00::1]",
            "wss://[::ffff:10.0.0.1]", "wss://224.0.0.1", "wss://no-such-host.invalid", "wss://[::127.0.0.1]",
            "wss://[2002:7f00:1::]", "wss://[2001:0:4136:e378::1]", "wss://[fec0::1]", "wss://[64:ff9b::10.0.0.1]",
        ] {
            #expect(await !RelayOutbox.mayConnect(to: refused), "\(refused)")
        }
        #expect(await RelayOutbox.mayConnect(to: "wss://1.1.1.1"))
        #expect(await RelayOutbox.mayConnect(to: "wss://[2606:4700:4700::1111]"))
        #expect(RelayOutbox.isPublic([8, 8, 8, 8]))
        #expect(!RelayOutbox.isPublic([192, 168, 1, 1]))
    }
}
