import Foundation

/// The run as JSON, with the same content as the JUnit report.
package enum JSONReportWriter {
  package static func data(_ run: RunResult) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(run)
  }
}
