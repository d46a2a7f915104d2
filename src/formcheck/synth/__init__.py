"""Synthetic lab: a rendered 3D figure doing lunges, step-ups and mSEBT reaches with known
joint angles, from any camera, with per-frame ground truth. See docs/synth.md."""

from formcheck.synth.clip import SynthConfig, synthesize

__all__ = ["SynthConfig", "synthesize"]
