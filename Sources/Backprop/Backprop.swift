// `import Backprop` gives users every layer of the library.
@_exported import BackpropAutodiff
@_exported import BackpropFiles
@_exported import BackpropNN
@_exported import BackpropTensor
