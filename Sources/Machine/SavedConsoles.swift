import Console
import Foundation
import HarnessSupport

/// What both consoles printed before a machine was saved, kept beside the saved state: a machine restored from
/// it has booted all the same, and a test may ask what its boot printed. Times count back from the save
/// (negative), so they never mix with the restored machine's own.
package struct SavedConsoles: Codable, Sendable, Equatable {
  package var normal: [Line]
  package var secure: [Line]

  package struct Line: Codable, Sendable, Equatable {
    package var t: Double
    package var text: String
  }

  /// The lines of both consoles, saved at `savedAt` (seconds since that machine's launch).
  package init(normal: [Transcript.Line], secure: [Transcript.Line], savedAt: Double) {
    func before(_ lines: [Transcript.Line]) -> [Line] { lines.map { Line(t: $0.time - savedAt, text: $0.text) } }
    self.normal = before(normal)
    self.secure = before(secure)
  }

  package var normalLines: [Transcript.Line] { normal.map { Transcript.Line(time: $0.t, text: $0.text) } }
  package var secureLines: [Transcript.Line] { secure.map { Transcript.Line(time: $0.t, text: $0.text) } }

  /// The file beside a saved machine's state.
  package static func file(beside state: URL) -> URL {
    state.deletingPathExtension().appendingPathExtension("consoles.json")
  }

  package func encoded() throws -> Data { try JSONEncoder().encode(self) }

  /// - Throws: `HarnessError` naming the file when it is not a console history.
  package init(contentsOf url: URL) throws {
    do {
      self = try JSONDecoder().decode(Self.self, from: Data(contentsOf: url))
    } catch {
      throw HarnessError("the saved machine's console history \(url.path) is unreadable: \(error.localizedDescription)",
        fix: "it is made again by the next boot")
    }
  }
}
