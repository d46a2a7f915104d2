"""What the clinician must settle about a test's clip before it is scored: the camera view the
test needs, and the leg that stood (mSEBT) or worked (a lunge or step-up filmed for one leg).

A screening compares sessions, so a clip filmed from another view than the protocol's would
be scored and trended against the others as if it measured the same thing; and a stance leg
read the other way from the clip would lose the test (no trial of the expected leg). Each
check says what was measured and what to do; it passes when the analysis agrees with the
test, or when the clinician has accepted the view or confirmed the leg. Pure: values in,
checks out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

# The view each test is filmed from (web/clinic.js's protocol): the screening's measures, the
# stance hip and knee flexion (Pinheiro et al. 2020, Braz J Phys Ther 24(6)) and the reach along
# the image plane, are sagittal; front or oblique clips give 3D estimates and no reach.
TEST_VIEW = {"msebt": "sagittal", "lunge": "sagittal", "step_up": "sagittal"}
VIEW_WORDS = {"sagittal": "a side view", "frontal": "a front or back view", "oblique": "an oblique view",
              "unknown": "a view that could not be told"}
ROLE = {"msebt": "stance leg", "lunge": "front leg", "step_up": "stepping leg"}


class ViewCheck(BaseModel):
    needed: str = Field(description="The camera view the test needs (sagittal = side view).")
    measured: str = Field(description="The view measured on the clip.")
    accepted: bool = Field(False, description="The clinician kept a clip filmed from another view.")
    ok: bool = Field(description="Scored: the views agree, or the clinician accepted the clip.")
    message: str = ""


class LegCheck(BaseModel):
    expected: str | None = Field(None, description="The leg the test is for.")
    detected: str | None = Field(None, description="The leg the clip shows standing/working in most trials.")
    confirmed: str | None = Field(None, description="The leg the clinician confirmed or corrected.")
    ok: bool = Field(description="Scored: the clip agrees with the test, or the clinician confirmed the leg.")
    message: str = ""


class ClipReview(BaseModel):
    """The clinician's word on a clip (PUT /tests/{id}/review)."""

    accept_view: bool | None = Field(None, description="Keep a clip filmed from another view than the test needs.")
    leg: str | None = Field(None, pattern="^(left|right)$",
                            description="The leg that stood (mSEBT) or worked in the clip, as the clinician saw it.")


def view_check(kind: str, measured: str | None, accepted: bool) -> ViewCheck | None:
    needed = TEST_VIEW.get(kind)
    if needed is None or measured is None:
        return None
    if measured == needed:
        return ViewCheck(needed=needed, measured=measured, accepted=accepted, ok=True)
    what = (f"Filmed from {VIEW_WORDS.get(measured, measured)} (measured); this test needs "
            f"{VIEW_WORDS[needed]}.")
    if accepted:
        return ViewCheck(needed=needed, measured=measured, accepted=True, ok=True,
                         message=f"{what} Kept as filmed: scored in this screening, but never trended against "
                                 f"clips filmed from {VIEW_WORDS[needed]}.")
    return ViewCheck(needed=needed, measured=measured, accepted=False, ok=False,
                     message=f"{what} Film it again from the side, or accept this clip (it will be scored but "
                             "not trended against side-view sessions).")


def detected_leg(rep_sides: Sequence[str]) -> str | None:
    """The leg of most complete trials/reps (None when no side was read, or a tie)."""
    counts = Counter(s for s in rep_sides if s in ("left", "right")).most_common()
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def leg_check(kind: str, expected: str | None, rep_sides: Sequence[str], confirmed: str | None) -> LegCheck | None:
    """None for a test of both legs (a lunge or step-up with no leg given) or a clip without reps."""
    if expected is None or not rep_sides:
        return None
    role = ROLE.get(kind, "working leg")
    seen = detected_leg(rep_sides)
    if confirmed is not None:
        note = "" if confirmed == expected else (f"The clinician confirmed the {confirmed} leg as the {role}: "
                                                  f"the trials count for the {confirmed} leg.")
        return LegCheck(expected=expected, detected=seen, confirmed=confirmed, ok=True, message=note)
    if seen == expected:
        return LegCheck(expected=expected, detected=seen, ok=True)
    shows = f"the clip shows the {seen} leg as the {role}" if seen else f"the {role} could not be read from the clip"
    return LegCheck(expected=expected, detected=seen, ok=False,
                    message=f"This test is for the {expected} {role}, but {shows}. Confirm which leg it was "
                            "before it is scored.")
