#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes examples/sample.npy, the input of the README's first command: 1024 float32 values
evenly spaced over [-8, 8] (so every activation shows its shape), shape (4, 256)."""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
np.save(os.path.join(here, "sample.npy"), np.linspace(-8, 8, 1024, dtype=np.float32).reshape(4, 256))
