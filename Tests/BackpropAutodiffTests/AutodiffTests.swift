import Testing
@testable import BackpropAutodiff
@Test func placeholder() {}
