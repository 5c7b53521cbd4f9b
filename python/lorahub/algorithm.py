"""Upstream's module path: ``from lorahub.algorithm import lorahub_learning, lorahub_inference``."""

from .compat import default_get_loss, default_l1_regularization, lorahub_inference, lorahub_learning

__all__ = ["default_get_loss", "default_l1_regularization", "lorahub_inference", "lorahub_learning"]
