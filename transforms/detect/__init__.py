"""Detectors: Windows incompatibilities winport finds and reports but does not rewrite."""
