import Foundation
import Testing

@testable import Images

/// Host tools come from the host's own release, under that release's package names.
@Suite struct HostReleaseTests {
  static let bookworm = """
    PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
    NAME="Debian GNU/Linux"
    VERSION_ID="12"
    VERSION_CODENAME=bookworm
    ID=debian
    """
  static let trixie = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nVERSION_CODENAME=trixie\nID=debian\n"
  static let noble = "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\nUBUNTU_CODENAME=noble\n"
  static let sid = "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nNAME=\"Debian GNU/Linux\"\nID=debian\n"

  @Test func theReleaseIsReadFromOsRelease() {
    let release = HostRelease(osRelease: Self.bookworm)
    #expect(release.id == "debian" && release.codename == "bookworm" && release.name == "Debian GNU/Linux 12 (bookworm)")
    #expect(HostRelease(osRelease: Self.noble).isUbuntu && HostRelease(osRelease: Self.noble).codename == "noble")
    #expect(HostRelease(osRelease: Self.sid).codename == nil)
    #expect(!HostRelease(osRelease: "ID=fedora\nVERSION_ID=41\n").usesApt)
    #expect(HostRelease(osRelease: "").id == "unknown")
  }

  @Test func theInstallCommandTargetsTheHostsOwnRelease() {
    var setup = HostSetup()
    setup.release = HostRelease(osRelease: Self.trixie)
    #expect(setup.installCommand(["qemu-system-arm"]) == ["apt-get", "install", "-y", "-t", "trixie", "--no-install-recommends", "qemu-system-arm"])
    setup.release = HostRelease(osRelease: Self.sid)
    #expect(setup.installCommand(["bc"]) == ["apt-get", "install", "-y", "--no-install-recommends", "bc"])
  }

  @Test func packageNamesFollowTheRelease() {
    #expect(HostRelease(osRelease: Self.noble).package("chromium") == "chromium-browser")
    #expect(HostRelease(osRelease: Self.trixie).package("chromium") == "chromium")
    #expect(HostRelease(osRelease: Self.noble).package("qemu-system-arm") == "qemu-system-arm")
  }

  @Test func aReportJobGetsPythonAndPipOnly() {
    #expect(HostSetup.reportTools.map(\.package) == ["python3", "python3-pip"])
    #expect(HostSetup.base.map(\.package).contains("make") && HostSetup.base.map(\.package).contains("python3-pip"))
  }
}
