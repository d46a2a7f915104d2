"""formcheck: a computer-vision form checker for runners."""

__version__ = "0.1.0"
