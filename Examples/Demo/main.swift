import Backprop
print("hello")
