// HarnessSuites
