"""HTTP plumbing: problem details, strict request schemas, pagination."""

from .problems import install_problem_handlers, problem
from .schemas import StrictModel

__all__ = ["StrictModel", "install_problem_handlers", "problem"]
