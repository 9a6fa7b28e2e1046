import HarnessCommands

await TeeHarness.execute()
