"""ntkverify: property-based verification of Neural Tangent Kernel theory."""

__version__ = "0.1.0"
