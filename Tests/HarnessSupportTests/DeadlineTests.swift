import HarnessSupport
import Testing

@Suite struct DeadlineTests {
  @Test func anOperationThatFinishesInTimeReturnsItsValue() async throws {
    let value = try await withDeadline(.after(.seconds(5)), "quick") { 42 }
    #expect(value == 42)
  }

  @Test func anOperationThatOutlivesItsDeadlineIsCancelledAndNamed() async throws {
    let error = await #expect(throws: DeadlineExceeded.self) {
      try await withDeadline(.after(.milliseconds(50)), "waiting for Godot") {
        try await Task.sleep(for: .seconds(30))
        return 1
      }
    }
    #expect(error?.what == "waiting for Godot")
    #expect((error?.after.seconds ?? 99) < 5)
  }

  @Test func cappingTakesTheEarlierDeadline() {
    let far = Deadline.after(.seconds(100))
    #expect(far.capped(at: .seconds(1)).remaining < .seconds(2))
    let near = Deadline.after(.seconds(1))
    #expect(near.capped(at: .seconds(100)).remaining < .seconds(2))
  }
}
