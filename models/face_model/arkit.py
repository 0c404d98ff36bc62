"""ARKit blendshape names and the mapping from ICT-FaceKit's 53 expressions to Apple's 52.

ICT names its expressions after ARKit's (``eyeBlink_L`` is ARKit's ``eyeBlinkLeft``), with
two differences: it splits ``browInnerUp`` and ``cheekPuff`` into left and right halves
(ARKit's value is their mean), and it has no ``tongueOut`` (always 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Apple's 52 blendshape locations, in the column order of a Live Link Face CSV.
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawRight", "jawLeft", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight",
    "mouthLeft", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)


def ict_to_arkit_name(ict_name: str) -> str:
    """``eyeBlink_L`` -> ``eyeBlinkLeft``; names without a side suffix are unchanged."""
    if ict_name.endswith("_L"):
        return ict_name[:-2] + "Left"
    if ict_name.endswith("_R"):
        return ict_name[:-2] + "Right"
    return ict_name


def arkit_mapping(ict_names: Sequence[str]) -> np.ndarray:
    """A (52, len(ict_names)) float32 matrix M with ``arkit_weights = M @ ict_weights``.

    Each ARKit curve is the mean of the ICT expressions that map onto it (one for most, the
    left and right halves for browInnerUp and cheekPuff); tongueOut has no source and stays 0.
    """
    index = {name: i for i, name in enumerate(ARKIT_NAMES)}
    mapping = np.zeros((len(ARKIT_NAMES), len(ict_names)), dtype=np.float32)
    for column, name in enumerate(ict_names):
        arkit = ict_to_arkit_name(name)
        if arkit not in index:
            arkit = name[:-2] if name[-2:] in ("_L", "_R") else name
        if arkit not in index:
            raise ValueError(f"ICT expression {name!r} has no ARKit counterpart")
        mapping[index[arkit], column] = 1.0
    counts = mapping.sum(axis=1, keepdims=True)
    return np.divide(mapping, counts, out=np.zeros_like(mapping), where=counts > 0)


def capitalized(arkit_name: str) -> str:
    """Apple's CSV capitalisation: ``eyeBlinkLeft`` -> ``EyeBlinkLeft``."""
    return arkit_name[0].upper() + arkit_name[1:]
