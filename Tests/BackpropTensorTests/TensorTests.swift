import Testing
@testable import BackpropTensor
@Test func placeholder() {}
