"""Losses: each returns its value and its gradient with respect to the prediction."""

from __future__ import annotations


def mse(prediction, target):
    """L = mean((prediction - target)^2) over its N elements;  dL/dprediction = 2 (prediction - target) / N.

    Both must have the same shape, else raise a ValueError (a failed assert is accepted too): a (B, 1) prediction
    against a (B,) target would broadcast to (B, B) and silently train on the wrong loss. The loss stays a 0-d
    array on the device.
    """
    if tuple(prediction.shape) != tuple(target.shape):
        raise ValueError(f"mse: prediction shape {tuple(prediction.shape)} != target shape {tuple(target.shape)}")
    xp = prediction.__array_namespace__()
    error = prediction - target
    return xp.mean(error * error), error * (2.0 / error.size)
