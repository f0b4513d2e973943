"""Helpers for the audio call tests: baresip softphones and tone analysis."""
