import Console
import Foundation
import HarnessSupport

/// What both consoles printed before a machine was saved, kept beside the saved state: a machine restored from
/// it has booted all the same, and a test may ask what its boot printed. Times count back from the save
/// (negative), so they never mix with the restored machine's own.
public struct SavedConsoles: Codable, Sendable, Equatable {
  public var normal: [Line]
  public var secure: [Line]

  public struct Line: Codable, Sendable, Equatable {
    public var t: Double
    public var text: String
  }

  /// The lines of both consoles, saved at `savedAt` (seconds since that machine's launch).
  public init(normal: [Transcript.Line], secure: [Transcript.Line], savedAt: Double) {
    func before(_ lines: [Transcript.Line]) -> [Line] { lines.map { Line(t: $0.time - savedAt, text: $0.text) } }
    self.normal = before(normal)
    self.secure = before(secure)
  }

  public var normalLines: [Transcript.Line] { normal.map { Transcript.Line(time: $0.t, text: $0.text) } }
  public var secureLines: [Transcript.Line] { secure.map { Transcript.Line(time: $0.t, text: $0.text) } }

  /// The file beside a saved machine's state.
  public static func file(beside state: URL) -> URL {
    state.deletingPathExtension().appendingPathExtension("consoles.json")
  }

  public func encoded() throws -> Data { try JSONEncoder().encode(self) }

  /// - Throws: `HarnessError` naming the file when it is not a console history.
  public init(contentsOf url: URL) throws {
    do {
      self = try JSONDecoder().decode(Self.self, from: Data(contentsOf: url))
    } catch {
      throw HarnessError("the saved machine's console history \(url.path) is unreadable: \(error.localizedDescription)",
        fix: "it is made again by the next boot")
    }
  }
}
