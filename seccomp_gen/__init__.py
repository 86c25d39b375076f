"""seccomp-gen: turn the kernel's seccomp audit records into minimal seccomp profiles."""

from seccomp_gen.errors import SeccompGenError

__version__ = "0.1.0"

__all__ = ["SeccompGenError", "__version__"]
