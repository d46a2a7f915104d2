"""Anthropometric body model: segment lengths and girths from body height.

Proportions follow Winter (2009) "Biomechanics and Motor Control of Human Movement",
fig. 4.1 (after Drillis & Contini 1966): every length is a fraction of standing height H.
Knobs scale the legs, arms, shoulders, hips and girth so that a test can vary body shape.

World frame used by the whole synth package: metres, x = forward (the person's initial
heading), y = up, z = the person's right; the floor is y = 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class BodySize:
    height_m: float = 1.75
    leg_scale: float = 1.0        # thigh + shank + ankle height, relative to Winter
    arm_scale: float = 1.0        # upper arm + forearm + hand
    shoulder_scale: float = 1.0   # shoulder width
    hip_scale: float = 1.0        # hip joint centre separation / pelvis width
    girth: float = 1.0            # limb and torso radii

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Skeleton:
    """Segment lengths (m) and radii (m) derived from a BodySize."""

    body: BodySize
    thigh: float
    shank: float
    ankle_h: float          # ankle joint centre above the sole
    foot_len: float
    foot_w: float
    hip_w: float            # distance between hip joint centres
    trunk: float            # mid-hip to mid-shoulder (joint centres)
    shoulder_w: float       # distance between shoulder joint centres
    upper_arm: float
    forearm: float
    hand: float
    neck: float             # mid-shoulder to the head's centre of rotation (C1)
    head_h: float           # chin to vertex
    head_r: float           # skull radius (front-back half depth)
    # radii
    r_thigh: float
    r_knee: float
    r_calf: float
    r_ankle: float
    r_upper_arm: float
    r_forearm: float
    r_wrist: float
    r_neck: float
    torso_depth: float      # half depth (front-back) of the chest
    waist_depth: float

    @property
    def leg_length(self) -> float:
        """Standing hip-joint-centre to ankle-joint-centre distance (≈ ASIS to medial malleolus)."""
        return self.thigh + self.shank

    @property
    def hip_height(self) -> float:
        return self.thigh + self.shank + self.ankle_h

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "body"}
        d["body"] = self.body.to_dict()
        d["leg_length"] = self.leg_length
        return d


def make_skeleton(body: BodySize | None = None) -> Skeleton:
    b = body or BodySize()
    H = b.height_m
    leg = b.leg_scale
    arm = b.arm_scale
    g = b.girth
    # Winter (2009): hip (greater trochanter) 0.530H, knee 0.285H, ankle 0.039H,
    # shoulder 0.818H, chin 0.870H, foot length 0.152H, foot width 0.055H,
    # shoulder width 0.259H (acromia; joint centres ~0.22H), upper arm 0.186H,
    # forearm 0.146H, hand 0.108H. Hip joint centres are ~0.10H apart.
    thigh = 0.245 * H * leg
    shank = 0.246 * H * leg
    ankle_h = 0.039 * H * leg
    hip_joint_h = thigh + shank + ankle_h
    # Keep the head top near H when the legs are scaled: the trunk takes up the rest.
    shoulder_h = 0.818 * H
    trunk = max(0.20 * H, shoulder_h - hip_joint_h - 0.0 * H)
    return Skeleton(
        body=b,
        thigh=thigh,
        shank=shank,
        ankle_h=ankle_h,
        foot_len=0.152 * H,
        foot_w=0.055 * H,
        hip_w=0.100 * H * b.hip_scale,
        trunk=trunk,
        shoulder_w=0.215 * H * b.shoulder_scale,
        upper_arm=0.186 * H * arm,
        forearm=0.146 * H * arm,
        hand=0.108 * H * arm,
        neck=0.075 * H,
        head_h=0.130 * H,
        head_r=0.056 * H,
        r_thigh=0.043 * H * g,
        r_knee=0.030 * H * g,
        r_calf=0.030 * H * g,
        r_ankle=0.018 * H * g,
        r_upper_arm=0.024 * H * g,
        r_forearm=0.020 * H * g,
        r_wrist=0.014 * H * g,
        r_neck=0.030 * H * g,
        torso_depth=0.062 * H * g,
        waist_depth=0.058 * H * g,
    )
