import Foundation
import HarnessSupport
import Testing

/// The CI templates users copy are valid against GitHub's and GitLab's published schemas, and the check can fail.
@Suite struct CITemplatesTests {
  static let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../ci/templates-check").standardized

  @Test func theTemplatesAreValidAgainstTheSchemasTheCISystemsPublish() async throws {
    let checked = try await Command.run([Self.checker.path], timeout: .seconds(600))
    #expect(checked.status == 0, "\(checked.output)")
    #expect(checked.output.contains("github-actions.yml: valid against vendor.github-workflows"))
    #expect(checked.output.contains("gitlab-ci.yml: valid against vendor.gitlab-ci"))
  }

  @Test func aBrokenTemplateIsNamed() async throws {
    let folder = ScratchFolder.path("templates-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let templates = Self.checker.deletingLastPathComponent()
    let github = try String(contentsOf: templates.appendingPathComponent("github-actions.yml"), encoding: .utf8)
      .replacingOccurrences(of: "timeout-minutes: 120", with: "timeout-minutes: ninety")
    let gitlab = try String(contentsOf: templates.appendingPathComponent("gitlab-ci.yml"), encoding: .utf8)
      .replacingOccurrences(of: "when: always        #", with: "when: sometimes        #")
    try github.write(to: folder.appendingPathComponent("gh.yml"), atomically: true, encoding: .utf8)
    try gitlab.write(to: folder.appendingPathComponent("gl.yml"), atomically: true, encoding: .utf8)
    let checked = try await Command.run([Self.checker.path, "--github", folder.appendingPathComponent("gh.yml").path,
      "--gitlab", folder.appendingPathComponent("gl.yml").path], timeout: .seconds(600))
    #expect(checked.status == 1, "\(checked.output)")
    #expect(checked.output.contains("gh.yml: INVALID") && checked.output.contains("gl.yml: INVALID"), "\(checked.output)")
  }
}
