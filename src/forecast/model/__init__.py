"""The unreliable-witness model: arrays, the PyMC model, NUTS and the exact engine."""
